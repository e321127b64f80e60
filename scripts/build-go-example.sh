#!/usr/bin/env bash
# Builds examples/go into $1 with Debian's Go and its packaged gRPC
# (GOPATH mode, no network), against the generated gen/go.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
gopath="$root/.uml/gopath"
mkdir -p "$gopath/src/ipvsd"
ln -sfn "$root/gen" "$gopath/src/ipvsd/gen"
cd "$root/examples/go"
GO111MODULE=off GOFLAGS= GOPATH="$gopath:/usr/share/gocode" go build -o "$1" .
