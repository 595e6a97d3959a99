#!/usr/bin/env bash
# dacc run --jobs: several tasks at once in one process, the threads split
# between them. Each task's files must equal, bit for bit, those of a run
# that gives every task the same thread count one task at a time; a run
# interrupted while two jobs train resumes to the same bytes; the default
# split is one job per thread, at most one per task.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u
DACC=${DACC_BIN:?DACC_BIN must point at the dacc binary}
SRC=${DACC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
W=$(mktemp -d "${TMPDIR:-/tmp}/dacc-jobs.XXXXXX")
trap 'rm -rf "$W"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
. "$SRC/tests/lib/mini_mnist.sh"
mini_mnist "$W/mnist" 600 500 || { echo "no MNIST"; echo "0 passed, 1 failed"; exit 1; }
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_CPUS_PER_TASK
S=(--variants 'Original;AveragePool;BatchNorm' --seeds 1 --epochs 2 --train-limit 300 --no-align --plain --data "$W/mnist")

"$DACC" run --out "$W/one" --threads 1 --jobs 1 "${S[@]}" >"$W/one.log" 2>&1
check "one job, one thread exits 0" '[ $? = 0 ]'
"$DACC" run --out "$W/two" --threads 2 --jobs 2 "${S[@]}" >"$W/two.log" 2>&1
check "two jobs exit 0" '[ $? = 0 ]'
check "two jobs say so" 'grep -q "^2 jobs at once, 1 thread each" "$W/two.log"'
"$DACC" run --out "$W/auto" --threads 2 "${S[@]}" >"$W/auto.log" 2>&1
check "the default on 2 threads is 2 jobs of 1" 'grep -q "^2 jobs at once, 1 thread each" "$W/auto.log"'
"$DACC" run --out "$W/big" --threads 2 --jobs 9 --variants Original --seeds 1 --epochs 1 --train-limit 100 \
    --no-align --plain --data "$W/mnist" >"$W/big.log" 2>&1
check "more jobs than tasks: one job" '[ $? = 0 ] && ! grep -q "jobs at once" "$W/big.log"'
for d in "$W/one"/tasks/*/; do
    id=$(basename "$d")
    for f in checkpoint.dacc predictions.bin predictions-paper.bin results.json inspect.txt; do
        check "$id/$f: two jobs = one at a time" 'cmp -s "$d/$f" "$W/two/tasks/$id/$f"'
        check "$id/$f: default = one at a time" 'cmp -s "$d/$f" "$W/auto/tasks/$id/$f"'
    done
done
check "each task trained once" '[ "$(grep -c "epoch 2/2" "$W/two.log")" = 3 ]'
check "progress says done" 'grep -q "\"state\":\"done\"" "$W/two/progress.json"'

# interrupted with two jobs training, then resumed: the same bytes
"$DACC" run --out "$W/int" --threads 2 --jobs 2 "${S[@]}" >"$W/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -n "$(ls "$W"/int/tasks/*/metrics.jsonl 2>/dev/null)" ] && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
code=$?
check "interrupted run exits 3 (or finished first: 0)" '[ $code = 3 ] || [ $code = 0 ]'
"$DACC" run --out "$W/int" --threads 2 --jobs 2 "${S[@]}" >"$W/int2.log" 2>&1
check "resumed run exits 0" '[ $? = 0 ]'
for d in "$W/one"/tasks/*/; do
    id=$(basename "$d")
    check "$id: resumed = uninterrupted" 'cmp -s "$d/predictions.bin" "$W/int/tasks/$id/predictions.bin"'
done
"$DACC" run --out "$W/x" --jobs 0 "${S[@]}" >/dev/null 2>&1
check "--jobs 0 is a usage error" '[ $? = 2 ]'
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
