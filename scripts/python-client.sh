#!/usr/bin/env bash
# Builds the Python distribution ipvsd-api (gen/python) into a wheel and installs it into a fresh virtual
# environment, offline, as its users would with pip, then prints the environment's python:
#   scripts/python-client.sh DIR        DIR/dist/ipvsd_api-*.whl, DIR/venv (DIR is emptied first)
#   scripts/python-client.sh --cached   the same, built once per hash of its inputs into .uml/cache (scripts/cache.sh):
#                                       the host's checks build it, and the e2e tests in user-mode Linux reuse it
# - the wheel is built by Debian's python3-build without isolation (no index to fetch setuptools from), from a copy of
#   gen/python, so setuptools' build/ and egg-info never land in the tree;
# - the environment sees Debian's site-packages (--system-site-packages), and pip installs with --no-index: grpcio
#   and protobuf must be satisfied by python3-grpcio and python3-protobuf, else the install fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ ${1:-} == --cached ]]; then
  source "$root/scripts/cache.sh"
  key=$(tree_key gen/python scripts/python-client.sh -- "$(dpkg-query -W 'python3*')")
  built=$(cached python-client "$key" sh -c 'bash "$0" "$CACHE_OUT"' "$0")
  echo "$built/venv/bin/python"
  exit
fi
dir=$(realpath -m "$1")
rm -rf "$dir" && mkdir -p "$dir"
# Debian's Python packages are for /usr/bin/python3, whatever python3 comes first on PATH.
py=/usr/bin/python3
cp -r "$root/gen/python" "$dir/src"
find "$dir/src" -name __pycache__ -prune -exec rm -rf {} +
"$py" -m build --wheel --no-isolation --outdir "$dir/dist" "$dir/src" >"$dir/build.log" 2>&1 || {
  cat "$dir/build.log" >&2
  exit 1
}
"$py" -m venv --system-site-packages "$dir/venv"
"$dir/venv/bin/python" -m pip install --quiet --no-index --no-cache-dir --disable-pip-version-check "$dir"/dist/*.whl
echo "$dir/venv/bin/python"
