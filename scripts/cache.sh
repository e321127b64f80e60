# Sourced by the scripts that build the other languages' clients. What the host's checks build is built again by
# e2e files inside user-mode Linux, where it takes 30-60 s each time: so a build lands in .uml/cache under a hash of
# everything it is made from, and is reused while none of that changes ($CACHE_BASE, if set, instead of .uml/cache:
# for what must live outside the repository). A build runs in a directory of its own and is renamed into place, so a
# cached build is whole or absent (two guests building at once keep whichever lands first).
root=${root:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}

# A hash of the named files and trees under the repository (paths and contents; not what builds leave in them:
# dist/, node_modules/, __pycache__/), then of any words given after --.
tree_key() {
  local paths=() extra=()
  while (($#)) && [[ $1 != -- ]]; do paths+=("$1") && shift; done
  (($#)) && shift && extra=("$@")
  {
    (cd "$root" && find "${paths[@]}" -type f ! -path '*/__pycache__/*' ! -path '*/dist/*' ! -path '*/node_modules/*' -print0 | sort -z | xargs -0 sha256sum)
    printf '%s\n' "${extra[@]}"
  } | sha256sum | cut -c1-16
}

# cached NAME KEY COMMAND...: the directory .uml/cache/NAME-KEY, made by COMMAND (run with $CACHE_OUT, an empty
# directory) unless it exists, which then replaces NAME's other builds; prints its path.
cached() {
  local name=$1 key=$2 base=${CACHE_BASE:-$root/.uml/cache}
  shift 2
  local dir="$base/$name-$key"
  if [[ ! -d $dir ]]; then
    mkdir -p "$base"
    local new
    new=$(mktemp -d "$base/.$name.XXXXXX")
    CACHE_OUT=$new "$@" >&2
    mv -T "$new" "$dir" 2>/dev/null || rm -rf "$new"
    # The builds of earlier versions go: one build of each is kept.
    find "$base" -mindepth 1 -maxdepth 1 -name "$name-*" ! -name "$name-$key" -exec rm -rf {} +
  fi
  echo "$dir"
}
