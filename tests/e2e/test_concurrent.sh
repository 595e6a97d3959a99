#!/usr/bin/env bash
# Processes sharing one run directory, as a Slurm array does: four shards
# released at the same instant into one folder all finish, each task is
# trained once, and `dacc report` gives the same tables as an unsharded run;
# a second `dacc run` on the same folder and shard refuses at once naming the
# first one's pid; an unsharded run started beside a live shard skips that
# shard's tasks; links planted at old fixed temporary names are not followed.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u

. "$(dirname "$0")/../lib/check.sh"
e2e_setup concurrent
pids=()
e2e_cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
e2e_mnist 300 500
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_ARRAY_TASK_MIN SLURM_ARRAY_TASK_STEP
# 6 tasks: shards 0 and 1 of 4 get two, shards 2 and 3 one
STUDY=(--variants 'Original;AveragePool' --seeds 3 --epochs 1 --train-limit 200 --no-align --threads 1 --plain --data "$WORK/mnist")
A=$WORK/A
B=$WORK/B

# ---- links planted at the fixed temporary names of old versions
echo precious >"$WORK/victim"
mkdir -p "$A/tasks/00-Original-s1"
for f in study.json progress.json inspect.json summary.md summary.csv summary.json results.csv; do
    ln -s "$WORK/victim" "$A/$f.tmp"
done
for f in results.json metrics.jsonl metrics.csv config.json DONE checkpoint.dacc predictions.bin inspect.txt; do
    ln -s "$WORK/victim" "$A/tasks/00-Original-s1/$f.tmp"
done
ln -s "$WORK/victim" "$A/tasks/00-Original-s1/metrics.jsonl" # the target itself
: >"$A/tasks/00-Original-s1/checkpoint.dacc.tmp-999999-0badf00d" # left by a killed run

# ---- the unsharded reference run
"$BIN" run --out "$A" "${STUDY[@]}" >"$WORK/A.log" 2>&1
check "unsharded run exits 0 (see A.log)" test $? -eq 0
"$BIN" report "$A" >"$WORK/A.md" 2>"$WORK/A.err"
check "report A exits 0" test $? -eq 0
check "no planted link was followed" test "$(cat "$WORK/victim")" = precious
check "a killed run's temporary file is removed" test ! -e "$A/tasks/00-Original-s1/checkpoint.dacc.tmp-999999-0badf00d"
check "metrics.jsonl replaced by a regular file, not written through" test -f "$A/tasks/00-Original-s1/metrics.jsonl" -a ! -L "$A/tasks/00-Original-s1/metrics.jsonl"

# ---- four shards released at the same instant into one folder
exec 9>"$WORK/gate"
flock 9 # the shards wait for this lock, then start together
for i in 0 1 2 3; do
    (flock -s "$WORK/gate" true && exec "$BIN" run --out "$B" --shard "$i/4" "${STUDY[@]}") >"$WORK/B$i.log" 2>&1 &
    pids+=($!)
done
sleep 0.5
flock -u 9
exec 9>&-
for i in 0 1 2 3; do
    wait "${pids[$i]}"
    check "shard $i/4 exits 0 (see B$i.log)" test $? -eq 0
done
pids=()
check "no shard lost a rename" bash -c "! grep -h 'cannot rename\|No such file' '$WORK'/B?.log"
for t in "$A"/tasks/*/; do
    id=$(basename "$t")
    check "$id done in the shared folder" test -e "$B/tasks/$id/DONE"
    check "$id trained once (one metrics line)" test "$(wc -l <"$B/tasks/$id/metrics.jsonl")" -eq 1
    check "$id: same predictions as unsharded" cmp -s "$t/predictions.bin" "$B/tasks/$id/predictions.bin"
done
"$BIN" report "$B" >"$WORK/B.md" 2>"$WORK/B.err"
check "report B exits 0" test $? -eq 0
for f in summary.csv summary.md results.csv; do
    check "$f identical unsharded vs 4 shards" cmp -s "$A/$f" "$B/$f"
done
check "stdout tables identical" cmp -s "$WORK/A.md" "$WORK/B.md"
check "inspect.json has both variants" grep -q '"AveragePool":\[' "$B/inspect.json"
check "inspect.json has Original" grep -q '"Original":\[' "$B/inspect.json"

# ---- a second run on the same folder and shard refuses while the first runs
C=$WORK/C
CSTUDY=(--variants 'Original;AveragePool' --seeds 2 --epochs 2 --train-limit 200 --no-align --threads 1 --plain --data "$WORK/mnist")
"$BIN" run --out "$C" "${CSTUDY[@]}" >"$WORK/C1.log" 2>&1 &
first=$!
pids+=($first)
for _ in $(seq 100); do # until the first holds its shard lock and has a task
    [ -s "$C/.lock-shard-0-of-1" ] && [ -s "$C/tasks/00-Original-s1/.lock" ] && break
    sleep 0.1
done
t0=$(date +%s)
"$BIN" run --out "$C" "${CSTUDY[@]}" >"$WORK/C2.log" 2>&1
rc=$?
t1=$(date +%s)
check "second unsharded run refuses (exit 1, got $rc)" test $rc -eq 1
check "refusal names the folder and the first pid" grep -q "$C: shard 0/1 of this run directory is already running (pid $first on host " "$WORK/C2.log"
check "refusal is immediate" test $((t1 - t0)) -le 2
# a different shard count on the same folder: runs, but never trains a task the first holds
"$BIN" run --out "$C" --shard 0/2 "${CSTUDY[@]}" >"$WORK/C3.log" 2>&1
check "shard 0/2 beside the unsharded run exits 0" test $? -eq 0
wait "$first"
check "the first run exits 0" test $? -eq 0
pids=()
for t in "$C"/tasks/*/; do
    check "$(basename "$t") trained once with two runs sharing the folder" test "$(wc -l <"$t/metrics.jsonl")" -eq 2
done
check "something was skipped as held by the other process" grep -q "being trained by pid $first on host" "$WORK/C3.log"

finish
