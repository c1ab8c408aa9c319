#!/usr/bin/env bash
# Regenerates the committed FFM bindings from the headers in headers.list. Run from anywhere; needs a
# jextract (>= 22) on PATH or in $JEXTRACT. This only runs jextract: see README.md for getting one.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jextract="${JEXTRACT:-jextract}"
cd "$root"
rm -rf src/main/java/io/ruvector/sparse/ffi/libc src/main/java/io/ruvector/sparse/ffi/capi
grep -v '^#' jextract/headers.list | while read -r header args; do
  [[ -n "$header" ]] || continue
  echo "+ $jextract @$args $header"
  "$jextract" "@$args" "$header"
done
