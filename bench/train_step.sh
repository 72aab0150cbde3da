#!/usr/bin/env bash
# One training step of the lecture's two-layer net and of LeNet: #[grad]
# (`examples/train_step.rs`) against the same step written by hand, numpy
# (the lecture's code) and PyTorch CPU, side by side on this machine, at 1 and
# 2 threads. Not run by CI.
#
# Setup, once (from the repository root):
#   python3 -m venv .venv
#   .venv/bin/pip install -r autodiff-runtime/bench/requirements-train.txt
# Run:
#   bench/train_step.sh [PYTHON] [ROUNDS]
# PYTHON: an interpreter with numpy and torch (default .venv/bin/python);
# ROUNDS: how many alternating rounds of Python and Rust runs (default 3); the
# table shows each measurement's median over the rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
# glibc returns freed blocks of more than a few MB to the OS, and every step
# then page-faults fresh memory for its activations; with two threads the
# faults contend in the kernel (LeNet at 2 threads: 12-16 ms instead of ~13).
# Both sides run with glibc keeping freed memory for reuse, which is what a
# training process wants; `GLIBC_TUNABLES= bench/train_step.sh` runs with
# glibc's defaults instead.
export GLIBC_TUNABLES=${GLIBC_TUNABLES-glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967295}
py=${1:-.venv/bin/python}
rounds=${2:-3}
cargo build --release --example train_step
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for _ in $(seq "$rounds"); do
  "$py" autodiff-runtime/bench/train_step.py --threads 1 2 >>"$out"
  target/release/examples/train_step --threads 1 2 >>"$out"
done
"$py" bench/train_step_table.py "$out"
