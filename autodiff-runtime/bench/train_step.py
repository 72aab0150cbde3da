#!/usr/bin/env python3
"""Time one training step of two small networks in numpy and PyTorch (CPU).

The reference numbers for the repository's `examples/train_step.rs` (the same
steps with #[grad] and written by hand against autodiff-runtime);
`bench/train_step.sh` at the repository root runs both and prints the ratios.
Not run by CI.

Setup (once, from the repository root):

    python3 -m venv .venv
    .venv/bin/pip install -r autodiff-runtime/bench/requirements-train.txt

Run:

    .venv/bin/python autodiff-runtime/bench/train_step.py --threads 1 2
    cargo run --release --example train_step -- --threads 1 2

Both print one JSON object per line:

    {"impl": "numpy"|"torch", "model": "two_layer"|"lenet", "threads": N, "step_us": ...}

and, per model, one `"loss"` line: the loss before training and after a fixed
number of steps on a fixed batch, so the Rust side can check that it learns the
same way (the data and initial weights come from different generators, so the
numbers agree in magnitude and trend, not in digits).

Models:
- two_layer: the lecture's numpy net, N=64, D_in=1000, H=100, D_out=10,
  sigmoid hidden layer, summed squared error, SGD lr 1e-4. numpy runs the
  lecture's code verbatim (hand-written backward); torch runs the same forward
  with autograd (`torch.sigmoid`, what a PyTorch user writes), `loss.backward()`,
  an update under `no_grad` and zeroed gradients.
- lenet: batch 64 of 1x28x28, conv 5x5 1->20, relu, maxpool 2, conv 5x5 20->50,
  relu, maxpool 2, flatten, fc 800->500, relu, fc 500->10, mean softmax
  cross-entropy, SGD lr 0.01 (torch only).

Timing: warm-up steps, then the median over several repeats of a batch of steps,
divided by the steps per batch.

Threads: BLAS and OpenMP runtimes read their thread count once, when loaded, so
`--threads N` sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS
before numpy and torch are imported (and calls torch.set_num_threads). With
several counts, each one runs in a fresh subprocess of this script. On a 2-core
machine numbers at 2 threads are meaningless if anything else is running: check
`uptime` first.
"""

import argparse
import json
import os
import subprocess
import sys

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

N, D_IN, H, D_OUT = 64, 1000, 100, 10
LR_TWO_LAYER = 1e-4
LENET_BATCH, LR_LENET = 64, 0.01


def median_step_us(step, steps_per_rep, reps, warmup):
    import time

    for _ in range(warmup):
        step()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(steps_per_rep):
            step()
        ts.append((time.perf_counter() - t) / steps_per_rep)
    ts.sort()
    return ts[len(ts) // 2] * 1e6


def emit(**kw):
    print(json.dumps(kw), flush=True)


# ------------------------------------------------------------------ two-layer


def two_layer_data(np):
    rng = np.random.default_rng(0)
    f32 = np.float32
    x = rng.standard_normal((N, D_IN), dtype=f32)
    y = rng.standard_normal((N, D_OUT), dtype=f32)
    w1 = rng.standard_normal((D_IN, H), dtype=f32)
    w2 = rng.standard_normal((H, D_OUT), dtype=f32)
    return x, y, w1, w2


def numpy_two_layer(threads, args):
    import numpy as np

    x, y, w1, w2 = two_layer_data(np)

    def step():
        # The lecture's code, verbatim; `-=` updates the arrays in place.
        nonlocal w1, w2
        h = 1 / (1 + np.exp(-x.dot(w1)))
        y_pred = h.dot(w2)
        loss = np.square(y_pred - y).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_w1 = x.T.dot(grad_h * h * (1 - h))
        w1 -= 1e-4 * grad_w1
        w2 -= 1e-4 * grad_w2
        return loss

    # exp(-x·w1) overflows to inf for large pre-activations; 1/(1+inf) = 0 is
    # the right sigmoid value, so the warning is noise.
    with np.errstate(over="ignore"):
        assert step().dtype == np.float32  # the whole step stays in f32
        x, y, w1, w2 = two_layer_data(np)
        first = float(step())
        for _ in range(args.loss_steps - 1):
            step()
        final = float(np.square(1 / (1 + np.exp(-x.dot(w1))) @ w2 - y).sum())
        emit(impl="numpy", model="two_layer", threads=threads, loss_steps=args.loss_steps,
             loss_first=first, loss_final=final)
        x, y, w1, w2 = two_layer_data(np)
        us = median_step_us(step, args.two_layer_steps, args.reps, args.warmup)
    emit(impl="numpy", model="two_layer", threads=threads, step_us=round(us, 2))


def torch_two_layer(threads, args):
    import numpy as np
    import torch

    def fresh():
        x, y, w1, w2 = (torch.from_numpy(a.copy()) for a in two_layer_data(np))
        return x, y, w1.requires_grad_(), w2.requires_grad_()

    x, y, w1, w2 = fresh()

    def step():
        nonlocal w1, w2
        h = torch.sigmoid(x.mm(w1))
        y_pred = h.mm(w2)
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with torch.no_grad():
            w1 -= LR_TWO_LAYER * w1.grad
            w2 -= LR_TWO_LAYER * w2.grad
            w1.grad.zero_()
            w2.grad.zero_()
        return loss

    first = step().item()
    for _ in range(args.loss_steps - 1):
        step()
    with torch.no_grad():
        final = (torch.sigmoid(x.mm(w1)).mm(w2) - y).pow(2).sum().item()
    emit(impl="torch", model="two_layer", threads=threads, loss_steps=args.loss_steps,
         loss_first=first, loss_final=final)
    x, y, w1, w2 = fresh()
    us = median_step_us(step, args.two_layer_steps, args.reps, args.warmup)
    emit(impl="torch", model="two_layer", threads=threads, step_us=round(us, 2))


# ---------------------------------------------------------------------- LeNet


def torch_lenet(threads, args):
    import torch
    from torch import nn
    import torch.nn.functional as F

    def fresh():
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(20, 50, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(800, 500), nn.ReLU(),
            nn.Linear(500, 10),
        )
        return model, torch.optim.SGD(model.parameters(), lr=LR_LENET)

    g = torch.Generator().manual_seed(1)
    x = torch.randn(LENET_BATCH, 1, 28, 28, generator=g)
    labels = torch.randint(0, 10, (LENET_BATCH,), generator=g)
    model, opt = fresh()

    def step():
        loss = F.cross_entropy(model(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    first = step().item()
    for _ in range(args.loss_steps - 1):
        step()
    with torch.no_grad():
        final = F.cross_entropy(model(x), labels).item()
    emit(impl="torch", model="lenet", threads=threads, loss_steps=args.loss_steps,
         loss_first=first, loss_final=final)
    model, opt = fresh()
    us = median_step_us(step, args.lenet_steps, args.reps, args.warmup)
    emit(impl="torch", model="lenet", threads=threads, step_us=round(us, 2))


def run(threads, args):
    # Must precede the first numpy/torch import in this process.
    for v in THREAD_VARS:
        os.environ[v] = str(threads)
    import torch

    torch.set_num_threads(threads)
    if "two_layer" in args.models:
        numpy_two_layer(threads, args)
        torch_two_layer(threads, args)
    if "lenet" in args.models:
        torch_lenet(threads, args)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1],
                   help="thread counts; each runs in its own process")
    p.add_argument("--models", nargs="+", default=["two_layer", "lenet"],
                   choices=["two_layer", "lenet"])
    p.add_argument("--reps", type=int, default=9, help="timed repeats (median taken)")
    p.add_argument("--warmup", type=int, default=10, help="untimed steps first")
    p.add_argument("--two-layer-steps", type=int, default=50, help="steps per timed repeat")
    p.add_argument("--lenet-steps", type=int, default=5, help="steps per timed repeat")
    p.add_argument("--loss-steps", type=int, default=100,
                   help="training steps before the reported final loss")
    args = p.parse_args()
    if len(args.threads) == 1:
        run(args.threads[0], args)
        return
    # Several counts: one fresh interpreter each, since the BLAS runtimes
    # cannot change their thread count once loaded.
    rest = [a for a in sys.argv[1:]]
    i = rest.index("--threads")
    j = i + 1
    while j < len(rest) and not rest[j].startswith("--"):
        j += 1
    rest = rest[:i] + rest[j:]
    for t in args.threads:
        subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(t)] + rest,
                       check=True)


if __name__ == "__main__":
    main()
