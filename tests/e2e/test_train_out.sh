#!/usr/bin/env bash
# `dacc train --out` into a folder that is missing, is a file, or is
# read-only fails before the first epoch with one line naming the path (the
# check in cmd_train.c), and
# leaves no temporary file; a writable one trains and writes the checkpoint.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup train-out
e2e_cleanup() { chmod -R u+w "$WORK"; } # the read-only folder below
e2e_mnist 200 200
TRAIN=(train --data "$WORK/mnist" --train-limit 200 --epochs 1 --threads 1)

refused() { # refused WHAT OUT
    "$DACC" "${TRAIN[@]}" --out "$2" >"$WORK/log" 2>&1
    local rc=$?
    check "$1: exit 1 (got $rc)" test $rc -eq 1
    check "$1: no epoch trained" bash -c "! grep -q '^epoch' '$WORK/log'"
    check "$1: one line naming the output" test "$(grep -c '^dacc train: .*' "$WORK/log")" -eq 1 -a "$(grep -cF "$2" "$WORK/log")" -ge 1
}
refused "missing folder" "$WORK/nowhere/x.dacc"
touch "$WORK/afile"
refused "parent is a file" "$WORK/afile/x.dacc"
mkdir "$WORK/ro"
chmod 555 "$WORK/ro"
if [ "$(id -u)" != 0 ]; then # root writes into read-only folders anyway
    refused "read-only folder" "$WORK/ro/x.dacc"
    check "read-only folder: nothing left in it" test -z "$(ls -A "$WORK/ro")"
fi

"$DACC" "${TRAIN[@]}" --out "$WORK/ok.dacc" >"$WORK/log" 2>&1
check "a writable --out trains (exit $?)" test -s "$WORK/ok.dacc"
check "no temporary file left" test -z "$(ls "$WORK" | grep '\.tmp')"

finish
