#!/usr/bin/env python3
"""Compare autodiff-runtime kernels with numpy (OpenBLAS) and PyTorch (CPU).

Runs the same shapes with the same thread counts as
`cargo run --release -p autodiff-runtime --example kernels_bench`, and prints a
ratio table. Not run by CI (needs numpy and torch; see README.md).

    python bench/compare.py                 # builds and runs the Rust bench itself
    cargo run ... --example kernels_bench | python bench/compare.py --rust-json -

Thread counts must be fixed before numpy/torch load their BLAS/OpenMP runtimes,
so each thread count is measured in a fresh subprocess (`--worker N`).
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.dirname(HERE)
THREADS = (1, 2)
SIZES = (256, 512, 1024)
LAYERS = (
    ("lenet_conv1", (64, 1, 28, 28), (20, 1, 5, 5)),
    ("lenet_conv2", (64, 20, 12, 12), (50, 20, 5, 5)),
)


def median_secs(fn, reps, warmup=2):
    import time

    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    ts.sort()
    return ts[len(ts) // 2]


def worker(threads, scale):
    """Measures numpy/torch with `threads` threads; prints JSON lines."""
    import numpy as np

    try:
        import torch
    except Exception as e:  # torch is optional: report and carry on with numpy
        print(json.dumps({"error": f"torch unavailable: {e}"}), flush=True)
        torch = None
    if torch is not None:
        torch.set_num_threads(threads)

    rng = np.random.default_rng(0)
    for n in SIZES:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        reps = scale * (3 if n >= 1024 else 7)
        s = median_secs(lambda: a @ b, reps)
        print(json.dumps({"lib": "numpy", "kernel": "matmul", "n": n,
                          "threads": threads, "ms": s * 1e3,
                          "gflops": 2 * n**3 / s / 1e9}), flush=True)
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            s = median_secs(lambda: ta @ tb, reps)
            print(json.dumps({"lib": "torch", "kernel": "matmul", "n": n,
                              "threads": threads, "ms": s * 1e3,
                              "gflops": 2 * n**3 / s / 1e9}), flush=True)
    if torch is None:
        return
    F = torch.nn.functional
    for name, xs, ws in LAYERS:
        x = torch.randn(*xs)
        w = torch.randn(*ws)
        bias = torch.randn(ws[0])
        reps = scale * 7
        with torch.no_grad():
            fwd = median_secs(lambda: F.conv2d(x, w, bias), reps)
        # Backward computes dx, dw and db, the same work as conv2d_pullback.
        xg = x.clone().requires_grad_(True)
        wg = w.clone().requires_grad_(True)
        bg = bias.clone().requires_grad_(True)
        y = F.conv2d(xg, wg, bg)
        g = torch.randn_like(y)
        bwd = median_secs(
            lambda: torch.autograd.grad(y, (xg, wg, bg), g, retain_graph=True), reps)
        for kernel, s in (("conv2d_forward", fwd), ("conv2d_backward", bwd)):
            print(json.dumps({"lib": "torch", "kernel": kernel, "layer": name,
                              "threads": threads, "ms": s * 1e3}), flush=True)


def run_workers(scale):
    rows = []
    for t in THREADS:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(t)
        out = subprocess.run(
            [sys.executable, __file__, "--worker", str(t), "--scale", str(scale)],
            env=env, check=True, capture_output=True, text=True).stdout
        rows += [json.loads(line) for line in out.splitlines() if line.strip()]
    return rows


def run_rust(quick):
    cmd = ["cargo", "run", "--release", "-q", "-p", "autodiff-runtime",
           "--example", "kernels_bench"]
    if quick:
        cmd += ["--", "--quick"]
    out = subprocess.run(cmd, cwd=CRATE, check=True, capture_output=True,
                         text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=int, default=3, help=argparse.SUPPRESS)
    ap.add_argument("--rust-json", metavar="FILE",
                    help="read the Rust bench's JSON lines from FILE ('-' = stdin) "
                         "instead of running cargo")
    ap.add_argument("--quick", action="store_true",
                    help="fewer repetitions (noisier numbers)")
    args = ap.parse_args()
    if args.worker is not None:
        worker(args.worker, args.scale)
        return

    scale = 1 if args.quick else 3
    if args.rust_json:
        f = sys.stdin if args.rust_json == "-" else open(args.rust_json)
        rust = [json.loads(l) for l in f if l.startswith("{")]
    else:
        rust = run_rust(args.quick)
    ref = run_workers(scale)
    for r in ref:
        if "error" in r:
            print("note:", r["error"])

    def find(rows, **kw):
        for r in rows:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    print("\nmatmul f32 square, GFLOP/s (ratio = rust / reference; target >= 0.9 vs numpy)")
    print(f"{'n':>5} {'thr':>3} {'rust':>8} {'numpy':>8} {'torch':>8} {'r/numpy':>8} {'r/torch':>8}")
    for t in THREADS:
        for n in SIZES:
            r = find(rust, kernel="matmul", n=n, threads=t)
            npy = find(ref, lib="numpy", kernel="matmul", n=n, threads=t)
            th = find(ref, lib="torch", kernel="matmul", n=n, threads=t)
            rg = r["gflops"] if r else float("nan")
            ng = npy["gflops"] if npy else float("nan")
            tg = th["gflops"] if th else float("nan")
            print(f"{n:>5} {t:>3} {rg:>8.1f} {ng:>8.1f} {tg:>8.1f} {rg / ng:>8.2f} {rg / tg:>8.2f}")

    print("\nconv2d, batch 64, ms (ratio = rust / torch; target <= 1.0)")
    print(f"{'layer':<12} {'pass':<9} {'thr':>3} {'rust':>8} {'torch':>8} {'ratio':>6}")
    for t in THREADS:
        for name, _, _ in LAYERS:
            for kernel in ("conv2d_forward", "conv2d_backward"):
                r = find(rust, kernel=kernel, layer=name, threads=t)
                th = find(ref, lib="torch", kernel=kernel, layer=name, threads=t)
                rm = r["ms"] if r else float("nan")
                tm = th["ms"] if th else float("nan")
                print(f"{name:<12} {kernel[7:]:<9} {t:>3} {rm:>8.3f} {tm:>8.3f} {rm / tm:>6.2f}")


if __name__ == "__main__":
    main()
