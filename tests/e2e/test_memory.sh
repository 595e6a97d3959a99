#!/usr/bin/env bash
# Peak resident memory of a study with two jobs (issue 14): the second job
# may add its model and its evaluation buffers, no more. The same
# two-variant study (two networks of one size, the full MNIST test set so
# that the AlignMNIST evaluation reads many pieces) runs with one job and
# with two jobs of one thread; the two-job peak may exceed the one-job peak
# by at most SECOND_JOB_MB. Before the activation gradients shared regions
# (engine/nn/model_build.c) and the evaluation read ~1 MB pieces
# (engine/study/robustness.c) the second job cost 72 MB, now 56-58 (with
# the eval forward's per-thread buffers, three CI runs of 2026-12-02).
# The peak is the child's ru_maxrss (python3); skipped without python3.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup memory
SECOND_JOB_MB=63 # measured: 56-58 (AVX-512); before the change 72
if ! command -v python3 >/dev/null; then
    skip "needs python3 to read a child's peak resident memory"
    finish
fi
e2e_mnist 1000 10000
unset SLURM_ARRAY_TASK_ID SLURM_ARRAY_TASK_COUNT SLURM_CPUS_PER_TASK
export DACC_DATA="$WORK/cache" # the generated sets go to the test's own cache
S=(--variants 'Original;StepLR' --seeds 1 --epochs 1 --train-limit 256 --blocks 1 --plain
   --data "$WORK/mnist" --model "$SRC/engine/align/alignclass-4x4.bin")

# peak_mb LOG CMD...: runs CMD (output to LOG); prints "exit-status peak-MB"
# (MB = 1000 kB, as /usr/bin/time's kbytes in docs/PERFORMANCE.md)
peak_mb() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
with open(sys.argv[1], "w") as log:
    rc = subprocess.call(sys.argv[2:], stdout=log, stderr=subprocess.STDOUT)
print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1000)
PY
}

# the first run also generates the AlignMNIST sets (its peak then holds
# one set's images, far less than a model)
read -r rc1 one < <(peak_mb "$WORK/one.log" "$DACC" run --out "$WORK/one" --threads 1 --jobs 1 "${S[@]}")
read -r rc2 two < <(peak_mb "$WORK/two.log" "$DACC" run --out "$WORK/two" --threads 2 --jobs 2 "${S[@]}")
check_sh "one job exits 0" '[ "$rc1" = 0 ]'
check_sh "two jobs exit 0, and say so" '[ "$rc2" = 0 ] && grep -q "^2 jobs at once, 1 thread each" "$WORK/two.log"'
echo "peak resident memory: one job $one MB, two jobs $two MB (second job $((two - one)) MB, at most $SECOND_JOB_MB)"
check_sh "the second job adds at most $SECOND_JOB_MB MB" '[ $((two - one)) -le $SECOND_JOB_MB ]'
for d in "$WORK/one"/tasks/*/; do
    id=$(basename "$d")
    for f in checkpoint.dacc predictions.bin predictions-paper.bin results.json; do
        check_sh "$id/$f: two jobs = one" 'cmp -s "$d/$f" "$WORK/two/tasks/$id/$f"'
    done
done
finish
