#!/bin/sh
# tools/check_fn_length.sh [MAX] - fails when a function of the library
# (base/ kernels/ net/ weights/ convert/ io/ mint/) is longer than MAX lines
# (default 120), counted from the line after its opening "{" (alone at the
# start of a line, as every function here is written) to its closing "}"
# (issue 9: long functions are split into named helpers). Prints
# "file:line name length" for each offender.
set -eu
MAX=${1:-120}
cd "$(dirname "$0")/.."
FILES=$(find base kernels net weights convert io mint -name '*.c' 2>/dev/null | sort)
# shellcheck disable=SC2086
awk -v max="$MAX" '
    FNR == 1 { inbody = 0; prev = ""; sig = "" }
    !inbody && /^\{/ { inbody = 1; start = FNR; name = sig; next }
    inbody && /^\}/ {
        n = FNR - start - 1
        if (n > max) { printf "%s:%d %s %d lines\n", FILENAME, start, name, n; bad++ }
        inbody = 0; next
    }
    !inbody {
        if (match($0, /[A-Za-z_][A-Za-z0-9_]*\(/)) sig = substr($0, RSTART, RLENGTH - 1)
    }
    END {
        if (bad) { printf "%d library function(s) over %d lines: split them into named helpers\n", bad, max; exit 1 }
    }' $FILES
