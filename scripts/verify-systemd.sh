#!/usr/bin/env bash
# `verify-systemd.sh [NODE]`: systemd-analyze verify on deploy/systemd/ipvsd.service,
# alone and with its netns.conf drop-in. verify insists that ExecStart's binary
# exists, so each copy runs NODE (default: the node on PATH) instead of the
# unit's /usr/bin/node; nothing else changes. verify exits 0 on an unknown key
# or a value it cannot parse (it ignores them), so any message about the unit fails too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
node=${1:-$(command -v node)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for variant in alone netns; do
  dir=$tmp/$variant
  mkdir -p "$dir"
  sed "s#^ExecStart=/usr/bin/node #ExecStart=$node #" "$root/deploy/systemd/ipvsd.service" >"$dir/ipvsd.service"
  grep -q "^ExecStart=$node " "$dir/ipvsd.service" || { echo "$variant: no ExecStart=/usr/bin/node to replace" >&2; exit 1; }
  if [[ $variant == netns ]]; then cp -r "$root/deploy/systemd/ipvsd.service.d" "$dir/"; fi
  out=$(systemd-analyze verify "$dir/ipvsd.service" 2>&1) || { echo "$variant: $out" >&2; exit 1; }
  if grep -E "ipvsd|$dir" <<<"$out" >&2; then echo "$variant: systemd-analyze verify complained" >&2; exit 1; fi
  [[ -z $out ]] || echo "$variant (about other units): $out"
done
echo "deploy/systemd: systemd-analyze verify passes, alone and with ipvsd.service.d/netns.conf"
