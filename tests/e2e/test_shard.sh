#!/usr/bin/env bash
# Sharding end to end with the real dacc: a tiny study run once unsharded
# (dir A) and as two shards into one shared folder (dir B, shard 0/2 then
# 1/2, as two machines or a Slurm array would); dacc report on each must give
# identical tables (the study is deterministic for a seed and thread count),
# and so must the merge of A and B. Also: dacc plan's shard column, a report
# of a half-done sharded run (the other shard's task listed as not started),
# and that rerunning a shard skips its DONE task.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree);
# DACC_SHARD_TEST_SEEDS (default 1) for a longer run with intervals.
set -u

. "$(dirname "$0")/../lib/check.sh"
e2e_setup shard

SEEDS=${DACC_SHARD_TEST_SEEDS:-2}
# a small MNIST (first 1000 test images) keeps evaluation short
e2e_mnist 600 1000
# no SLURM_* from an enclosing job may pick the shard for us
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT
STUDY=(--variants 'Original;AveragePool' --seeds "$SEEDS" --epochs 1 --train-limit 300 --no-align --threads 1 --plain --data "$WORK/mnist")
A=$WORK/A
B=$WORK/B

# the plan: ids in seed-major order, shard = index % 2
"$BIN" plan "${STUDY[@]}" --shard 1/2 >"$WORK/plan.txt" 2>&1
check "dacc plan exits 0" test $? -eq 0
check "plan: 00-Original-s1 on shard 0" grep -Eq '^ +0  00-Original-s1 +Original +1 +0$' "$WORK/plan.txt"
check "plan: 01-AveragePool-s1 on shard 1, marked" grep -Eq '^ +1  01-AveragePool-s1 +AveragePool +1 +1  \*$' "$WORK/plan.txt"

"$BIN" run --out "$A" "${STUDY[@]}" >"$WORK/runA.log" 2>&1
check "unsharded run exits 0 (see $WORK/runA.log)" test $? -eq 0
"$BIN" run --out "$B" --shard 0/2 "${STUDY[@]}" >"$WORK/runB0.log" 2>&1
check "shard 0/2 exits 0" test $? -eq 0
check "shard 0/2 ran only its task" test -e "$B/tasks/00-Original-s1/DONE" -a ! -e "$B/tasks/01-AveragePool-s1"

# half done: a report works and names the other shard's task
"$BIN" report "$B" --out "$WORK/half" >"$WORK/half.md" 2>"$WORK/half.err"
check "report of a half-done sharded run exits 0" test $? -eq 0
check "the other shard's task is listed as not started" grep -q '01-AveragePool-s1: planned in study.json but not started' "$WORK/half/summary.json"

"$BIN" run --out "$B" --shard 1/2 "${STUDY[@]}" >"$WORK/runB1.log" 2>&1
check "shard 1/2 exits 0" test $? -eq 0
"$BIN" plan "${STUDY[@]}" --out "$B" >"$WORK/plan2.txt" 2>&1
check "plan --out shows every task done" test "$(grep -c ' done' "$WORK/plan2.txt")" -eq $((2 * SEEDS))

# resume semantics: a rerun skips DONE tasks
before=$(stat -c %Y "$B/tasks/00-Original-s1/results.json")
"$BIN" run --out "$B" --shard 0/2 "${STUDY[@]}" >"$WORK/rerun.log" 2>&1
check "rerun exits 0" test $? -eq 0
check "rerun says already done" grep -q '\[00-Original-s1\] already done' "$WORK/rerun.log"
check "rerun did not rewrite results" test "$(stat -c %Y "$B/tasks/00-Original-s1/results.json")" = "$before"

# the same predictions, bit for bit
for t in "$A"/tasks/*/; do
    id=$(basename "$t")
    check "$id: same predictions unsharded and sharded" cmp -s "$t/predictions.bin" "$B/tasks/$id/predictions.bin"
done

"$BIN" report "$A" >"$WORK/A.md" 2>"$WORK/A.err"
check "report A exits 0" test $? -eq 0
"$BIN" report "$B" >"$WORK/B.md" 2>"$WORK/B.err"
check "report B exits 0" test $? -eq 0
for f in summary.csv summary.md results.csv; do
    check "$f identical unsharded vs sharded" cmp -s "$A/$f" "$B/$f"
done
check "stdout tables identical" cmp -s "$WORK/A.md" "$WORK/B.md"
check "the table has both variants" grep -q '^| AveragePool | '"$SEEDS"' | ' "$WORK/A.md"
check "McNemar vs Original computed" grep -Eq '^heldout,AveragePool,.*,(exact|chi2-cc),' "$A/summary.csv"

# merging the two directories (as from two machines): duplicates agree
"$BIN" report "$A" "$B" --out "$WORK/M" >/dev/null 2>"$WORK/M.err"
check "merged report exits 0" test $? -eq 0
check "merge reports the duplicates" grep -q "$((2 * SEEDS)) duplicates" "$WORK/M.err"
check "no disagreement" bash -c "! grep -q 'different results' '$WORK/M.err'"
check "merged summary equals A's" cmp -s "$A/summary.csv" "$WORK/M/summary.csv"

# usage errors
"$BIN" report >/dev/null 2>&1
check "report without DIR is a usage error" test $? -eq 2
"$BIN" report "$WORK/nowhere" >/dev/null 2>&1
check "report of a missing DIR fails" test $? -eq 1
"$BIN" plan --shard 2/2 >/dev/null 2>&1
check "plan --shard 2/2 is a usage error" test $? -eq 2

finish
