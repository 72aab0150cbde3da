#!/usr/bin/env python3
"""ADBench's GMM objective in PyTorch (eager) and JAX (jit) on the CPU, on the
instances `gmm_bench` wrote, side by side with our times. Not run by CI.

    cargo run --release -p autodiff-adbench --example gmm_bench [-- --quick]
    python autodiff-adbench/bench/compare.py [--threads 1] [--frameworks torch,jax]

Reads `autodiff-adbench/data/gmm_d{d}_K{k}_n{n}.txt` (ADBench's format) and
`data/gmm_results.tsv` (our values and times), and prints, per instance, each
framework's objective and gradient times, its gradient/objective ratio, our
`#[grad]` gradient time and the speedup (their gradient time / ours). It also
checks that each framework's objective value matches ours to 1e-9 relative
(the constants included: an independent check of them) and that the torch and
JAX gradients agree; mismatches are printed on stderr.

Both implementations are written the way ADBench's PyTorch and JAX versions
are: vectorised over points and components (x − μ for all pairs, Q applied by
a batched product with the lower-triangular factor), float64.
"""

import argparse
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def read_gmm(path):
    with open(path) as f:
        tok = f.read().split()
    d, k, n = int(tok[0]), int(tok[1]), int(tok[2])
    icf_sz = d * (d + 1) // 2
    vals = [float(t) for t in tok[3:]]
    pos = 0

    def take(count):
        nonlocal pos
        out = vals[pos : pos + count]
        pos += count
        return out

    alphas = take(k)
    means = take(k * d)
    icf = take(k * icf_sz)
    x = take(n * d)
    gamma = take(1)[0]
    m = int(take(1)[0])
    return d, k, n, alphas, means, icf, x, gamma, m


def log_gamma_distrib(a, p):
    return 0.25 * p * (p - 1) * math.log(math.pi) + sum(
        math.lgamma(a + 0.5 * (1 - j)) for j in range(1, p + 1)
    )


def wishart_constant(d, k, gamma, m):
    n = d + m + 1
    c = n * d * (math.log(gamma) - 0.5 * math.log(2)) - log_gamma_distrib(0.5 * n, d)
    return k * c


def tril_indices(d):
    """Row and column of each strictly-lower entry in icf's column-major order."""
    rows, cols = [], []
    for i in range(d):
        for j in range(i + 1, d):
            rows.append(j)
            cols.append(i)
    return rows, cols


def best_time(f, budget=0.5, min_runs=3):
    start = time.perf_counter()
    best = float("inf")
    runs = 0
    while runs < min_runs or time.perf_counter() - start < budget:
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
        runs += 1
    return best


def torch_bench(inst, budget):
    import torch

    d, k, n, alphas, means, icf, x, gamma, m = inst
    dt = torch.float64
    A = torch.tensor(alphas, dtype=dt)
    M = torch.tensor(means, dtype=dt).reshape(k, d)
    Q = torch.tensor(icf, dtype=dt).reshape(k, -1)
    X = torch.tensor(x, dtype=dt).reshape(n, d)
    rows, cols = tril_indices(d)
    rows_t, cols_t = torch.tensor(rows, dtype=torch.long), torch.tensor(cols, dtype=torch.long)
    const = -n * d * 0.5 * math.log(2 * math.pi) - wishart_constant(d, k, gamma, m)

    def objective(A, M, Q):
        qdiag = torch.exp(Q[:, :d])
        sum_qs = Q[:, :d].sum(1)
        L = torch.zeros(k, d, d, dtype=dt)
        L[:, rows_t, cols_t] = Q[:, d:]
        xc = X[:, None, :] - M[None, :, :]  # n, k, d
        y = qdiag[None] * xc + torch.einsum("kij,nkj->nki", L, xc)
        main = A + sum_qs - 0.5 * (y * y).sum(2)
        slse = torch.logsumexp(main, 1).sum()
        frob = (qdiag * qdiag).sum(1) + (Q[:, d:] ** 2).sum(1)
        prior = (0.5 * gamma * gamma * frob - m * sum_qs).sum()
        return const + slse - n * torch.logsumexp(A, 0) + prior

    with torch.no_grad():
        value = objective(A, M, Q).item()
    t_obj = best_time(lambda: objective(A, M, Q).item(), budget)

    Ar, Mr, Qr = (t.clone().requires_grad_(True) for t in (A, M, Q))

    def grad():
        for t in (Ar, Mr, Qr):
            t.grad = None
        v = objective(Ar, Mr, Qr)
        v.backward()
        return v

    grad()
    g = [t.grad.numpy().ravel().copy() for t in (Ar, Mr, Qr)]
    t_grad = best_time(grad, budget)
    return value, t_obj, t_grad, g


def jax_bench(inst, budget):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    d, k, n, alphas, means, icf, x, gamma, m = inst
    A = jnp.array(alphas, dtype=jnp.float64)
    M = jnp.array(means, dtype=jnp.float64).reshape(k, d)
    Q = jnp.array(icf, dtype=jnp.float64).reshape(k, -1)
    X = jnp.array(x, dtype=jnp.float64).reshape(n, d)
    rows, cols = tril_indices(d)
    rows_a, cols_a = jnp.array(rows, dtype=jnp.int32), jnp.array(cols, dtype=jnp.int32)
    const = -n * d * 0.5 * math.log(2 * math.pi) - wishart_constant(d, k, gamma, m)

    def objective(A, M, Q):
        qdiag = jnp.exp(Q[:, :d])
        sum_qs = Q[:, :d].sum(1)
        L = jnp.zeros((k, d, d), dtype=jnp.float64).at[:, rows_a, cols_a].set(Q[:, d:])
        xc = X[:, None, :] - M[None, :, :]
        y = qdiag[None] * xc + jnp.einsum("kij,nkj->nki", L, xc)
        main = A + sum_qs - 0.5 * (y * y).sum(2)
        slse = logsumexp(main, axis=1).sum()
        frob = (qdiag * qdiag).sum(1) + (Q[:, d:] ** 2).sum(1)
        prior = (0.5 * gamma * gamma * frob - m * sum_qs).sum()
        return const + slse - n * logsumexp(A) + prior

    f = jax.jit(objective)
    vg = jax.jit(jax.value_and_grad(objective, argnums=(0, 1, 2)))
    value = float(f(A, M, Q))
    _, g = vg(A, M, Q)
    g = [jnp.ravel(t).__array__().copy() for t in g]
    t_obj = best_time(lambda: f(A, M, Q).block_until_ready(), budget)
    t_grad = best_time(lambda: jax.block_until_ready(vg(A, M, Q)), budget)
    return value, t_obj, t_grad, g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1, help="torch threads; 1 also makes XLA single-threaded (default 1)")
    ap.add_argument("--frameworks", default="torch,jax")
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of repeated runs per timing")
    args = ap.parse_args()

    results = os.path.join(DATA, "gmm_results.tsv")
    if not os.path.exists(results):
        sys.exit(f"{results} is missing: run `cargo run --release -p autodiff-adbench --example gmm_bench` first")
    ours = []
    with open(results) as f:
        next(f)
        for line in f:
            d, k, n, value, t_obj, t_grad, t_hand, t_rwo, t_rwg = line.split()
            ours.append((int(d), int(k), int(n), float(value), float(t_obj), float(t_grad), float(t_hand), float(t_rwg)))

    if args.threads == 1:
        # Single-threaded XLA too, to compare with our single-threaded code.
        os.environ.setdefault(
            "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        )
    frameworks = [fw for fw in args.frameworks.split(",") if fw]
    benches = {}
    if "torch" in frameworks:
        import torch

        torch.set_num_threads(args.threads)
        benches["torch"] = torch_bench
    if "jax" in frameworks:
        try:
            import jax  # noqa: F401

            benches["jax"] = jax_bench
        except ImportError:
            print("jax is not installed: skipping it", file=sys.stderr)

    print(f"(torch threads: {args.threads}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r})")
    head = "| d | K | n | ours obj | ours `#[grad]` | ours row-wise `#[grad]` | ours hand |"
    for fw in benches:
        head += f" {fw} obj | {fw} grad | {fw} grad/obj | {fw} grad / our `#[grad]` | {fw} grad / our row-wise |"
    print(head)
    print("|" + " --- |" * (head.count("|") - 1))
    for d, k, n, value, t_obj, t_grad, t_hand, t_rwg in ours:
        inst = read_gmm(os.path.join(DATA, f"gmm_d{d}_K{k}_n{n}.txt"))
        row = f"| {d} | {k} | {n} | {t_obj * 1e3:.2f} ms | {t_grad * 1e3:.2f} ms | {t_rwg * 1e3:.2f} ms | {t_hand * 1e3:.2f} ms |"
        grads = {}
        for fw, bench in benches.items():
            v, to, tg, g = bench(inst, args.budget)
            grads[fw] = g
            if abs(v - value) > 1e-9 * abs(value):
                print(f"  {fw} value {v!r} differs from ours {value!r} (d={d} K={k} n={n})", file=sys.stderr)
            row += f" {to * 1e3:.2f} ms | {tg * 1e3:.2f} ms | {tg / to:.2f} | {tg / t_grad:.2f} | {tg / t_rwg:.2f} |"
        if len(grads) == 2:
            import numpy as np

            a = np.concatenate(grads["torch"])
            b = np.concatenate(grads["jax"])
            rel = np.max(np.abs(a - b)) / np.max(np.abs(b))
            if rel > 1e-9:
                print(f"  torch and jax gradients differ by {rel:.1e} (d={d} K={k} n={n})", file=sys.stderr)
        print(row, flush=True)


if __name__ == "__main__":
    main()
