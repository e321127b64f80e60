#!/usr/bin/env bash
# Installs, idempotently, the Debian packages that tests, benchmarks and the
# sandbox need: a user-mode Linux kernel with IPVS modules, ipvsadm to
# cross-check, iproute2 for namespaces and veth, vde2 for the sandbox's port,
# openssl for the TLS tests' certificates.
set -euo pipefail
PACKAGES=(user-mode-linux kmod ipvsadm iproute2 vde2 openssl)
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
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The user-mode kernel mounts its modules over /lib/modules: the mount point must exist.
if [[ ! -d /lib/modules ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "ipvsd: run as root once: mkdir -p /lib/modules" >&2; exit 1; fi
  mkdir -p /lib/modules
fi
