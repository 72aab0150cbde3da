//! `f_grad` against a hand-written flat adjoint of the same function.
//!
//! `cargo bench --bench scalar_adjoint`. Each pair runs side by side in one
//! process; the ratio of their times is the number that matters (target
//! ≤ 1.05: the generated code should compile to the same machine code).

use autodiff::{grad, sigmoid};
use criterion::{black_box as bb, criterion_group, criterion_main, Criterion};

#[grad]
fn neuron(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> f64 {
    let s0 = w0 * x0;
    let s1 = w1 * x1;
    let s2 = s0 + s1;
    let s3 = s2 + w2;
    sigmoid(s3)
}

fn neuron_by_hand(w0: f64, x0: f64, w1: f64, x1: f64, w2: f64) -> (f64, [f64; 5]) {
    let s3 = w0 * x0 + w1 * x1 + w2;
    let l = sigmoid(s3);
    let grad_s3 = (1.0 - l) * l;
    (
        l,
        [
            grad_s3 * x0,
            grad_s3 * w0,
            grad_s3 * x1,
            grad_s3 * w1,
            grad_s3,
        ],
    )
}

/// A 20-term polynomial `Σ (a + k b) x^k`, by Horner's rule.
#[grad]
fn poly(x: f64, a: f64, b: f64) -> f64 {
    let mut p = a + 19.0 * b;
    p = p * x + (a + 18.0 * b);
    p = p * x + (a + 17.0 * b);
    p = p * x + (a + 16.0 * b);
    p = p * x + (a + 15.0 * b);
    p = p * x + (a + 14.0 * b);
    p = p * x + (a + 13.0 * b);
    p = p * x + (a + 12.0 * b);
    p = p * x + (a + 11.0 * b);
    p = p * x + (a + 10.0 * b);
    p = p * x + (a + 9.0 * b);
    p = p * x + (a + 8.0 * b);
    p = p * x + (a + 7.0 * b);
    p = p * x + (a + 6.0 * b);
    p = p * x + (a + 5.0 * b);
    p = p * x + (a + 4.0 * b);
    p = p * x + (a + 3.0 * b);
    p = p * x + (a + 2.0 * b);
    p = p * x + (a + b);
    p * x + a
}

/// The flat adjoint of `poly` as written, by hand: the forward sweep keeps
/// each Horner partial, the backward sweep runs the chain rule over them.
fn poly_by_hand(x: f64, a: f64, b: f64) -> (f64, [f64; 3]) {
    let mut p = [0.0; 20];
    p[19] = a + 19.0 * b;
    for k in (0..19).rev() {
        p[k] = p[k + 1] * x + (a + k as f64 * b);
    }
    let (mut gx, mut ga, mut gb) = (0.0, 0.0, 0.0);
    let mut gp = 1.0; // d out / d p[k]
    for k in 0..19 {
        gx += gp * p[k + 1];
        ga += gp;
        gb += gp * k as f64;
        gp *= x;
    }
    (p[0], [gx, ga + gp, gb + gp * 19.0])
}

/// A fused formulation a person might write instead: p' by Horner alongside
/// p, and the coefficient gradients Σ x^k and Σ k x^k the same way (a
/// different algorithm, shown for reference).
fn poly_by_hand_fused(x: f64, a: f64, b: f64) -> (f64, [f64; 3]) {
    let mut p = 0.0;
    let mut dp = 0.0;
    let mut sa = 0.0; // Σ x^k
    let mut sb = 0.0; // Σ k x^k
    for k in (0..20).rev() {
        dp = dp * x + p;
        p = p * x + (a + k as f64 * b);
        sa = sa * x + 1.0;
        sb = sb * x + k as f64;
    }
    (p, [dp, sa, sb])
}

/// Three particles in the plane: harmonic springs between each pair plus a
/// Lennard-Jones term, the energy of a small molecular-dynamics step.
#[grad]
fn energy(x1: f64, y1: f64, x2: f64, y2: f64, x3: f64, y3: f64) -> f64 {
    let k = 2.0;
    let r0 = 1.2;
    let r12 = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
    let r13 = ((x3 - x1).powi(2) + (y3 - y1).powi(2)).sqrt();
    let r23 = ((x3 - x2).powi(2) + (y3 - y2).powi(2)).sqrt();
    let springs = k * ((r12 - r0).powi(2) + (r13 - r0).powi(2) + (r23 - r0).powi(2));
    let lj12 = 4.0 * ((1.0 / r12).powi(12) - (1.0 / r12).powi(6));
    let lj13 = 4.0 * ((1.0 / r13).powi(12) - (1.0 / r13).powi(6));
    let lj23 = 4.0 * ((1.0 / r23).powi(12) - (1.0 / r23).powi(6));
    springs + lj12 + lj13 + lj23
}

/// The flat adjoint a person writes for `energy` as written (same primal
/// operations: `powi(12)` and `powi(6)` of `1/r`).
fn energy_by_hand(x1: f64, y1: f64, x2: f64, y2: f64, x3: f64, y3: f64) -> (f64, [f64; 6]) {
    let (k, r0) = (2.0, 1.2);
    // Energy of one pair, and dE/d(dx), dE/d(dy).
    let pair = |dx: f64, dy: f64| {
        let r = (dx.powi(2) + dy.powi(2)).sqrt();
        let inv = 1.0 / r;
        let e = k * (r - r0).powi(2) + 4.0 * (inv.powi(12) - inv.powi(6));
        let de_dinv = 4.0 * (12.0 * inv.powi(11) - 6.0 * inv.powi(5));
        let de_dr = 2.0 * k * (r - r0) - de_dinv * inv / r;
        (e, de_dr * dx / r, de_dr * dy / r)
    };
    let (e12, gx12, gy12) = pair(x2 - x1, y2 - y1);
    let (e13, gx13, gy13) = pair(x3 - x1, y3 - y1);
    let (e23, gx23, gy23) = pair(x3 - x2, y3 - y2);
    (
        e12 + e13 + e23,
        [
            -gx12 - gx13,
            -gy12 - gy13,
            gx12 - gx23,
            gy12 - gy23,
            gx13 + gx23,
            gy13 + gy23,
        ],
    )
}

fn benches(c: &mut Criterion) {
    // The hand-written versions must compute the same gradient.
    let (_, g) = neuron_grad(2.0, -1.0, -3.0, -2.0, -3.0);
    let (_, h) = neuron_by_hand(2.0, -1.0, -3.0, -2.0, -3.0);
    assert!((g.0 - h[0]).abs() < 1e-12 && (g.4 - h[4]).abs() < 1e-12);
    let (_, g) = poly_grad(0.7, 0.3, -0.1);
    for (_, h) in [
        poly_by_hand(0.7, 0.3, -0.1),
        poly_by_hand_fused(0.7, 0.3, -0.1),
    ] {
        assert!(
            (g.0 - h[0]).abs() < 1e-9 && (g.1 - h[1]).abs() < 1e-9 && (g.2 - h[2]).abs() < 1e-9
        );
    }
    let p = (0.0, 0.1, 1.1, -0.2, 0.4, 1.0);
    let (_, g) = energy_grad(p.0, p.1, p.2, p.3, p.4, p.5);
    let (_, h) = energy_by_hand(p.0, p.1, p.2, p.3, p.4, p.5);
    for (a, b) in [g.0, g.1, g.2, g.3, g.4, g.5].iter().zip(h) {
        assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} vs {b}");
    }

    compare(
        c,
        "neuron",
        || neuron_grad(bb(2.0), bb(-1.0), bb(-3.0), bb(-2.0), bb(-3.0)),
        || neuron_by_hand(bb(2.0), bb(-1.0), bb(-3.0), bb(-2.0), bb(-3.0)),
    );
    compare(
        c,
        "poly20",
        || poly_grad(bb(0.7), bb(0.3), bb(-0.1)),
        || poly_by_hand(bb(0.7), bb(0.3), bb(-0.1)),
    );
    c.bench_function("poly20/by_hand_fused", |bch| {
        bch.iter(|| poly_by_hand_fused(bb(0.7), bb(0.3), bb(-0.1)))
    });
    compare(
        c,
        "energy",
        || energy_grad(bb(p.0), bb(p.1), bb(p.2), bb(p.3), bb(p.4), bb(p.5)),
        || energy_by_hand(bb(p.0), bb(p.1), bb(p.2), bb(p.3), bb(p.4), bb(p.5)),
    );
}

/// One group per function: the generated gradient and the hand-written one.
fn compare<A, B>(
    c: &mut Criterion,
    name: &str,
    generated: impl Fn() -> A,
    by_hand: impl Fn() -> B,
) {
    let mut group = c.benchmark_group(name);
    group.bench_function("grad", |bch| bch.iter(&generated));
    group.bench_function("by_hand", |bch| bch.iter(&by_hand));
    group.finish();
}

criterion_group!(scalar, benches);
criterion_main!(scalar);
