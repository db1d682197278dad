#!/bin/sh
# tools/check_layers.sh - the library's layers include only downward.
# Order (lowest first): base kernels weights net convert io mint cli; the
# public header include/mint.h may be included from anywhere. A file in a
# folder may include headers from its own folder and folders below it; an
# include of a folder above it is an error (printed as file:line). Run from
# the tree's root (make test runs it). Exit 1 on any violation.
set -eu
cd "$(dirname "$0")/.."
LAYERS="base kernels weights net convert io mint cli"
rank() {
    i=0
    for l in $LAYERS; do
        [ "$l" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
    echo -1
}
bad=0
for dir in $LAYERS; do
    r=$(rank "$dir")
    for f in $(find "$dir" -name '*.[ch]' -o -name '*.inc' | sort); do
        # #include "x/y.h" names folder x; a bare "y.h" resolves next to the
        # file, then in include/ (the public header), then in kernels/ (-Ikernels).
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" | \
            sed 's/^\([0-9]*\):.*"\([^"]*\)".*/\1 \2/' | while read -r line inc; do
            case "$inc" in
            */*) to=${inc%%/*} ;;
            *)
                if [ -e "$(dirname "$f")/$inc" ]; then to=$dir
                elif [ -e "include/$inc" ]; then to=include
                elif [ -e "kernels/$inc" ]; then to=kernels
                else to=unknown; fi ;;
            esac
            [ "$to" = include ] && continue
            t=$(rank "$to")
            if [ "$t" -lt 0 ]; then
                echo "$f:$line: includes \"$inc\", which is in no layer ($LAYERS)"
                echo x
            elif [ "$t" -gt "$r" ]; then
                echo "$f:$line: layer $dir includes \"$inc\" from layer $to above it ($LAYERS)"
                echo x
            fi
        done
    done
done | { n=0; while read -r l; do if [ "$l" = x ]; then n=$((n + 1)); else echo "$l" >&2; fi; done
         if [ "$n" -gt 0 ]; then echo "check_layers: $n upward include(s)" >&2; exit 1; fi; }
echo "check_layers: ok (base -> kernels -> weights -> net -> convert -> io -> mint -> cli)"
