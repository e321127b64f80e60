#!/usr/bin/env bash
# Installs, idempotently, the Debian packages ipvsd needs:
#   install-deps.sh sandbox   what `npm start` needs on a kernel without IPVS:
#                             a user-mode Linux kernel with IPVS modules, kmod,
#                             iproute2, vde2 (the sandbox's network)
#   install-deps.sh [test]    that, and what tests, checks and benchmarks need:
#                             ipvsadm (cross-checks), openssl (TLS test certificates),
#                             the Go and Python protobuf/gRPC plugins and libraries
#                             (buf generate, the Go and Python clients), tmux
#                             (the CLI's terminal test), yamllint (manifests),
#                             systemd (systemd-analyze verify of deploy/systemd),
#                             keepalived (bench:health's baseline, run by hand in a guest)
set -euo pipefail
PACKAGES=(user-mode-linux kmod iproute2 vde2)
if [[ ${1:-test} == test ]]; then
  PACKAGES+=(ipvsadm openssl tmux yamllint systemd
    protobuf-compiler protoc-gen-go protoc-gen-go-grpc protobuf-compiler-grpc
    golang-go golang-google-protobuf-dev golang-google-grpc-dev
    # grpc-go accepts either; only 1.5 (backed by APIv2) runs protoc-gen-go's code.
    golang-github-golang-protobuf-1-5-dev
    python3-grpcio python3-protobuf
    # The ipvsd-api wheel, built offline without isolation and installed into a venv (scripts/python-client.sh).
    python3-build python3-venv python3-setuptools python3-wheel
    keepalived)
fi
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "ipvsd: missing Debian packages: ${missing[*]}" >&2
    echo "ipvsd: install them as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "ipvsd: installing Debian packages: ${missing[*]}"
  # keepalived's postinst would start its daemon (invoke-rc.d, deb-systemd-invoke): a policy-rc.d that refuses
  # (exit 101) stops both, unless one is already in place; it is removed again however this script ends.
  if [[ " ${missing[*]} " == *" keepalived "* && ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" keepalived "* ]]; then
    # Nor left running (were policy-rc.d to have let it start), nor started at boot: neither its systemd unit nor
    # its SysV links stay enabled.
    if [[ -d /run/systemd/system ]]; then systemctl stop keepalived.service >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/keepalived ]]; then /etc/init.d/keepalived stop >/dev/null 2>&1 || true; fi
    deb-systemd-helper disable keepalived.service >/dev/null 2>&1 || true
    update-rc.d keepalived disable >/dev/null 2>&1 || true
  fi
fi
# The user-mode kernel mounts its modules over /lib/modules: the mount point must exist.
if [[ ! -d /lib/modules ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "ipvsd: run as root once: mkdir -p /lib/modules" >&2; exit 1; fi
  mkdir -p /lib/modules
fi
