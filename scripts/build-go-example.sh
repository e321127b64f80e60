#!/usr/bin/env bash
# Builds examples/go into $1 in module mode, as a user's `go build` does, but offline, against this tree's gen/go and
# the Go sources Debian packages:
# - /usr/share/gocode/src becomes a file-system module proxy (scripts/go-proxy.go) in .uml/go/proxy-HASH, one per
#   set of Debian packages and version of that script; GOPROXY=file://... is the only source of modules.
# - examples/go/go.mod, as a user writes it (require github.com/ipvsd/ipvsd/gen/go v0.1.0), is copied to a temporary
#   -modfile with a replace of that module by ./gen/go: the build uses the generated code of this tree, and the tree's
#   go.mod stays untouched.
# - the go.sum Go writes lands next to that temporary file, not in the tree: it holds the hashes of Debian's sources,
#   which differ from upstream's (so GOSUMDB=off), and a user's own `go mod tidy` writes the real ones.
# - the program is built once per hash of its inputs (scripts/cache.sh): the host's checks build it, and the e2e
#   tests in user-mode Linux copy it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$1")
work="$root/.uml/go"
mkdir -p "$work"
hash=$({ dpkg-query -W 'golang-*-dev'; cat "$root/scripts/go-proxy.go"; } | sha256sum | cut -c1-16)
proxy="$work/proxy-$hash"
if [[ ! -d $proxy ]]; then
  # Built aside and renamed: a build running at the same time (another guest) keeps whichever lands first.
  new=$(mktemp -d "$work/proxy.XXXXXX") && chmod 755 "$new"
  GOFLAGS= go run "$root/scripts/go-proxy.go" /usr/share/gocode/src "$new"
  mv -T "$new" "$proxy" 2>/dev/null || rm -rf "$new"
fi
# The build, into $CACHE_OUT/example (scripts/cache.sh keeps it under a hash of its sources, the proxy and Go).
build() (
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp "$root/examples/go/go.mod" "$tmp/example.mod"
  export GO111MODULE=on GOWORK=off GOPROXY="file://$proxy" GOSUMDB=off GONOSUMDB= GOPRIVATE= GOFLAGS='-mod=mod -modcacherw'
  # The module cache belongs to the proxy: a rebuilt proxy's zips would not match another's cached hashes.
  export GOMODCACHE="$work/modcache-$hash"
  cd "$root/examples/go"
  go mod edit -modfile="$tmp/example.mod" -replace="github.com/ipvsd/ipvsd/gen/go=$root/gen/go"
  go build -modfile="$tmp/example.mod" -o "$CACHE_OUT/example" .
)
source "$root/scripts/cache.sh"
built=$(cached go-example "$(tree_key examples/go gen/go scripts/build-go-example.sh -- "$hash" "$(go version)")" build)
cp "$built/example" "$out"
