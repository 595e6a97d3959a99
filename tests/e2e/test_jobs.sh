#!/usr/bin/env bash
# dacc run --jobs: several tasks at once in one process, the threads split
# between them. Each task's files must equal, bit for bit, those of a run
# that gives every task the same thread count one task at a time; a run
# interrupted while two jobs train resumes to the same bytes; the default
# split is one job per thread, at most one per task.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup jobs
e2e_mnist 600 500
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_CPUS_PER_TASK
S=(--variants 'Original;AveragePool;BatchNorm' --seeds 1 --epochs 2 --train-limit 300 --no-align --plain --data "$WORK/mnist")

"$DACC" run --out "$WORK/one" --threads 1 --jobs 1 "${S[@]}" >"$WORK/one.log" 2>&1
check_sh "one job, one thread exits 0" '[ $? = 0 ]'
check "study.json names the commit of the build (or unknown)" \
    grep -Eq '"commit":"([0-9a-f]{12}(-dirty)?|unknown)"' "$WORK/one/study.json"
"$DACC" run --out "$WORK/two" --threads 2 --jobs 2 "${S[@]}" >"$WORK/two.log" 2>&1
check_sh "two jobs exit 0" '[ $? = 0 ]'
check_sh "two jobs say so" 'grep -q "^2 jobs at once, 1 thread each" "$WORK/two.log"'
"$DACC" run --out "$WORK/auto" --threads 2 "${S[@]}" >"$WORK/auto.log" 2>&1
check_sh "the default on 2 threads is 2 jobs of 1" 'grep -q "^2 jobs at once, 1 thread each" "$WORK/auto.log"'
"$DACC" run --out "$WORK/big" --threads 2 --jobs 9 --variants Original --seeds 1 --epochs 1 --train-limit 100 \
    --no-align --plain --data "$WORK/mnist" >"$WORK/big.log" 2>&1
check_sh "more jobs than tasks: one job" '[ $? = 0 ] && ! grep -q "jobs at once" "$WORK/big.log"'
for d in "$WORK/one"/tasks/*/; do
    id=$(basename "$d")
    for f in checkpoint.dacc predictions.bin predictions-paper.bin results.json inspect.txt; do
        check_sh "$id/$f: two jobs = one at a time" 'cmp -s "$d/$f" "$WORK/two/tasks/$id/$f"'
        check_sh "$id/$f: default = one at a time" 'cmp -s "$d/$f" "$WORK/auto/tasks/$id/$f"'
    done
done
check_sh "each task trained once" '[ "$(grep -c "epoch 2/2" "$WORK/two.log")" = 3 ]'
check_sh "progress says done" 'grep -q "\"state\":\"done\"" "$WORK/two/progress.json"'

# interrupted with two jobs training, then resumed: the same bytes
"$DACC" run --out "$WORK/int" --threads 2 --jobs 2 "${S[@]}" >"$WORK/int.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    [ -n "$(ls "$WORK"/int/tasks/*/metrics.jsonl 2>/dev/null)" ] && break
    sleep 0.05
done
kill -TERM $pid
wait $pid
code=$?
check_sh "interrupted run exits 3 (or finished first: 0)" '[ $code = 3 ] || [ $code = 0 ]'
"$DACC" run --out "$WORK/int" --threads 2 --jobs 2 "${S[@]}" >"$WORK/int2.log" 2>&1
check_sh "resumed run exits 0" '[ $? = 0 ]'
for d in "$WORK/one"/tasks/*/; do
    id=$(basename "$d")
    check_sh "$id: resumed = uninterrupted" 'cmp -s "$d/predictions.bin" "$WORK/int/tasks/$id/predictions.bin"'
done
"$DACC" run --out "$WORK/x" --jobs 0 "${S[@]}" >/dev/null 2>&1
check_sh "--jobs 0 is a usage error" '[ $? = 2 ]'
finish
