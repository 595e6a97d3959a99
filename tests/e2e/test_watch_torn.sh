#!/usr/bin/env bash
# `dacc watch --exit-when-done` on a run directory whose progress.json is
# truncated: it gives up after 10 s with one line naming the file (it used
# to wait forever), but a file repaired within that time (a live run
# rewrites it every second) is read and the watch ends normally.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup watch-torn

R=$WORK/run
mkdir -p "$R/tasks"
cat >"$R/study.json" <<'EOF'
{"format":"dacc-run","version":1,"dacc_version":"0","isa":"scalar","kernels":{},"threads":1,"epochs":1,
 "batch":64,"protocol":"default","variants":["Original"],"seeds":[1],"blocks":0,"alignmnist":false,
 "tasks":[{"id":"00-Original-s1","variant":"Original","seed":1}]}
EOF
DONE='{"state":"done","task":"00-Original-s1","task_index":1,"tasks":1,"variant":"Original","seed":1,"epoch":1,"epochs":1,"batch":0,"batches":0,"images_per_s":null,"eta_s":0,"elapsed_s":1.0,"updated":1.0,"pid":1}'
TRAINING=${DONE/\"done\"/\"training\"}

# truncated from the start: ends after about 10 s, exit 1, naming the file
printf '%s' "${TRAINING:0:40}" >"$R/progress.json"
t0=$(date +%s)
timeout 40 "$DACC" watch --plain --exit-when-done "$R" >"$WORK/out1" 2>"$WORK/err1"
rc=$?
t1=$(date +%s)
check "truncated progress.json: exit 1 (got $rc; 124 = still waiting after 40 s)" test $rc -eq 1
check "ends after about 10 s (took $((t1 - t0)) s)" test $((t1 - t0)) -ge 9 -a $((t1 - t0)) -le 20
check "the message names progress.json" grep -q "$R/progress.json: unreadable for 10 s" "$WORK/err1"
check "the tables are still printed" grep -q "Per-epoch summary\|No results yet" "$WORK/out1"

# valid (training), then torn and left so: the last good state does not keep it waiting
printf '%s\n' "$TRAINING" >"$R/progress.json"
(sleep 1; printf '%s' "${TRAINING:0:30}" >"$R/progress.json.new"; mv "$R/progress.json.new" "$R/progress.json") &
timeout 40 "$DACC" watch --plain --exit-when-done "$R" >/dev/null 2>"$WORK/err2"
rc=$?
wait
check "torn after a good read: exit 1 (got $rc)" test $rc -eq 1

# torn for 3 s, then repaired with state done: ends normally
printf '%s' "${TRAINING:0:40}" >"$R/progress.json"
(sleep 3; printf '%s\n' "$DONE" >"$R/progress.json.new"; mv "$R/progress.json.new" "$R/progress.json") &
t0=$(date +%s)
timeout 40 "$DACC" watch --plain --exit-when-done "$R" >/dev/null 2>"$WORK/err3"
rc=$?
t1=$(date +%s)
wait
check "repaired within 10 s: exit 0 (got $rc)" test $rc -eq 0
check "repaired: ends soon after the repair (took $((t1 - t0)) s)" test $((t1 - t0)) -le 7

# done from the start: at once
printf '%s\n' "$DONE" >"$R/progress.json"
timeout 20 "$DACC" watch --plain --exit-when-done "$R" >/dev/null 2>&1
check "done: exit 0" test $? -eq 0

finish
