//! Loop-heavy functions: the primal, `f_grad`, and a hand-written adjoint,
//! side by side (`cargo bench --bench loop_adjoint`). Targets: gradient /
//! primal ≤ 3 (the cheap-gradient bound) and `f_grad` / by hand ≤ 1.2.

#![allow(clippy::needless_range_loop)]

use autodiff::grad;
use criterion::{black_box as bb, criterion_group, criterion_main, Criterion};

/// A 1-D heat-equation (Dirichlet + double-well) energy over `u.len()` cells.
#[grad(wrt(u))]
fn heat(u: &[f64], k: f64) -> f64 {
    let n = u.len();
    let mut e = 0.0;
    for i in 0..n - 1 {
        let d = u[i + 1] - u[i];
        e += k * d * d;
    }
    for i in 0..n {
        let v = u[i] * u[i] - 1.0;
        e += v * v;
    }
    e
}

fn heat_by_hand(u: &[f64], k: f64) -> (f64, Vec<f64>) {
    let n = u.len();
    let mut e = 0.0;
    let mut g = vec![0.0; n];
    for i in 0..n - 1 {
        let d = u[i + 1] - u[i];
        e += k * d * d;
        g[i + 1] += 2.0 * k * d;
        g[i] -= 2.0 * k * d;
    }
    for i in 0..n {
        let v = u[i] * u[i] - 1.0;
        e += v * v;
        g[i] += 4.0 * v * u[i];
    }
    (e, g)
}

/// Log-likelihood of points under a 1-D Gaussian mixture (K components,
/// log-parametrised scales and weights), log-sum-exp over components.
#[grad(wrt(mu, log_s, log_w))]
fn gmm(mu: &[f64], log_s: &[f64], log_w: &[f64], xs: &[f64]) -> f64 {
    let k = mu.len();
    let mut a = vec![0.0; k];
    let mut ll = 0.0;
    for i in 0..xs.len() {
        let x = xs[i];
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            let z = (x - mu[j]) * (-log_s[j]).exp();
            a[j] = log_w[j] - log_s[j] - 0.5 * z * z;
            m = m.max(a[j]);
        }
        let mut s = 0.0;
        for j in 0..k {
            s += (a[j] - m).exp();
        }
        ll += m + s.ln();
    }
    ll
}

/// The hand-written adjoint of `gmm` as written: the same primal operations
/// per point (including `exp(-log_s[j])`), then responsibilities.
fn gmm_by_hand(mu: &[f64], log_s: &[f64], log_w: &[f64], xs: &[f64]) -> (f64, [Vec<f64>; 3]) {
    let k = mu.len();
    let (mut gmu, mut gs, mut gw) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let (mut a, mut z, mut inv) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut ll = 0.0;
    for &x in xs {
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            inv[j] = (-log_s[j]).exp();
            z[j] = (x - mu[j]) * inv[j];
            a[j] = log_w[j] - log_s[j] - 0.5 * z[j] * z[j];
            m = m.max(a[j]);
        }
        let mut s = 0.0;
        for j in 0..k {
            a[j] = (a[j] - m).exp();
            s += a[j];
        }
        ll += m + s.ln();
        for j in 0..k {
            let r = a[j] / s;
            gw[j] += r;
            gmu[j] += r * z[j] * inv[j];
            gs[j] += r * (z[j] * z[j] - 1.0);
        }
    }
    (ll, [gmu, gs, gw])
}

/// The same adjoint with `exp(-log_s)` hoisted out of the point loop: an
/// algebraic saving the primal does not make (shown for reference).
fn gmm_by_hand_hoisted(
    mu: &[f64],
    log_s: &[f64],
    log_w: &[f64],
    xs: &[f64],
) -> (f64, [Vec<f64>; 3]) {
    let k = mu.len();
    let (mut gmu, mut gs, mut gw) = (vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    let mut a = vec![0.0; k];
    let mut z = vec![0.0; k];
    let inv: Vec<f64> = log_s.iter().map(|s| (-s).exp()).collect();
    let mut ll = 0.0;
    for &x in xs {
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            z[j] = (x - mu[j]) * inv[j];
            a[j] = log_w[j] - log_s[j] - 0.5 * z[j] * z[j];
            m = m.max(a[j]);
        }
        let mut s = 0.0;
        for j in 0..k {
            a[j] = (a[j] - m).exp();
            s += a[j];
        }
        ll += m + s.ln();
        for j in 0..k {
            let r = a[j] / s; // responsibility: d ll / d a_j
            gw[j] += r;
            gmu[j] += r * z[j] * inv[j];
            gs[j] += r * (z[j] * z[j] - 1.0);
        }
    }
    (ll, [gmu, gs, gw])
}

fn data(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let u = data(100_000, 1);
    let (e, g) = heat_grad(&u, 0.7);
    let (eh, gh) = heat_by_hand(&u, 0.7);
    assert!((e - eh).abs() < 1e-9 * eh.abs());
    assert!(g
        .iter()
        .zip(&gh)
        .all(|(a, b)| (a - b).abs() < 1e-9 * b.abs().max(1.0)));
    let mut group = c.benchmark_group("heat_1e5");
    group.bench_function("primal", |b| b.iter(|| heat(bb(&u), bb(0.7))));
    group.bench_function("grad", |b| b.iter(|| heat_grad(bb(&u), bb(0.7))));
    group.bench_function("by_hand", |b| b.iter(|| heat_by_hand(bb(&u), bb(0.7))));
    group.finish();

    let (mu, ls, lw) = (
        vec![-1.0, -0.3, 0.2, 0.8, 1.5],
        vec![-0.5, 0.1, -0.2, 0.3, 0.0],
        vec![0.1, -0.4, 0.3, 0.0, -0.2],
    );
    let xs = data(10_000, 2);
    let (v, (g1, g2, g3)) = gmm_grad(&mu, &ls, &lw, &xs);
    let (vh, [h1, h2, h3]) = gmm_by_hand(&mu, &ls, &lw, &xs);
    assert!((v - vh).abs() < 1e-9 * vh.abs());
    let (vh2, _) = gmm_by_hand_hoisted(&mu, &ls, &lw, &xs);
    assert!((v - vh2).abs() < 1e-9 * vh.abs());
    for (a, b) in g1
        .iter()
        .chain(&g2)
        .chain(&g3)
        .zip(h1.iter().chain(&h2).chain(&h3))
    {
        assert!((a - b).abs() < 1e-8 * b.abs().max(1.0), "{a} vs {b}");
    }
    let mut group = c.benchmark_group("gmm1d_k5_n1e4");
    group.bench_function("primal", |b| {
        b.iter(|| gmm(bb(&mu), bb(&ls), bb(&lw), bb(&xs)))
    });
    group.bench_function("grad", |b| {
        b.iter(|| gmm_grad(bb(&mu), bb(&ls), bb(&lw), bb(&xs)))
    });
    group.bench_function("by_hand", |b| {
        b.iter(|| gmm_by_hand(bb(&mu), bb(&ls), bb(&lw), bb(&xs)))
    });
    group.finish();
}

criterion_group!(loops, benches);
criterion_main!(loops);
