#!/usr/bin/env bash
# On-demand fuzzing in chunks: run.sh SEED COUNT [CHUNK]
# Builds and runs the differential test once per chunk of CHUNK programs
# (default 1000), chunk c using seed SEED + c, in release mode, and sums the
# counts. A chunk's failures are printed in full (program source, point,
# gradient table); reproduce one with
#   AUTODIFF_FUZZ_SEED=<chunk seed> AUTODIFF_FUZZ_COUNT=<CHUNK> \
#     cargo test --release -p autodiff-fuzz --test differential -- --nocapture
set -u
seed=${1:?usage: run.sh SEED COUNT [CHUNK]}
count=${2:?usage: run.sh SEED COUNT [CHUNK]}
chunk=${3:-1000}
cd "$(dirname "$0")/.."
tried=0; points=0; failed=0; chunks_failed=0; c=0
start=$(date +%s)
while [ "$tried" -lt "$count" ]; do
    n=$(( count - tried < chunk ? count - tried : chunk ))
    s=$(( seed + c ))
    log=$(mktemp)
    AUTODIFF_FUZZ_SEED=$s AUTODIFF_FUZZ_COUNT=$n \
        cargo test -q --release -p autodiff-fuzz --test differential -- --nocapture >"$log" 2>&1
    rc=$?
    line=$(grep '^autodiff-fuzz:' "$log")
    echo "chunk $c (seed $s, $n programs): ${line:-no summary, rc $rc}"
    if [ -z "$line" ]; then
        # A compile error (a construct #[grad] rejects or miscompiles) or a crash.
        grep -E '^error' -A12 "$log" | head -60
        chunks_failed=$(( chunks_failed + 1 ))
    else
        p=$(sed -E 's/.* ([0-9]+) points checked.*/\1/' <<<"$line")
        f=$(sed -E 's/.*; ([0-9]+) programs failed.*/\1/' <<<"$line")
        points=$(( points + p )); failed=$(( failed + f ))
        if [ "$f" -gt 0 ]; then
            chunks_failed=$(( chunks_failed + 1 ))
            awk '/^==== /{n++} n==1' "$log" | sed '/^autodiff-fuzz:/d' | head -80
        fi
    fi
    rm -f "$log"
    tried=$(( tried + n )); c=$(( c + 1 ))
done
echo "total: seed $seed, $tried programs in $c chunks, $points points checked, $failed programs failed, $chunks_failed chunks with failures or build errors, $(( $(date +%s) - start )) s"
[ "$failed" -eq 0 ] && [ "$chunks_failed" -eq 0 ]
