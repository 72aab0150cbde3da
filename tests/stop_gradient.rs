//! `stop_gradient`: the identity whose derivative is zero.
// Index loops are the form under test.
#![allow(clippy::needless_range_loop)]

mod common;

use autodiff::{grad, stop_gradient};
use common::{check_f32, check_f64};

#[grad]
fn held_factor(x: f64, y: f64) -> f64 {
    stop_gradient(x * y) * x + autodiff::stop_gradient(y).sin() * y
}

#[test]
fn the_held_value_counts_as_a_constant() {
    for (x, y) in [(3.0, 0.5), (-1.25, 2.0), (0.0, -0.7)] {
        let (v, (dx, dy)) = held_factor_grad(x, y);
        assert_eq!(v, held_factor(x, y));
        // d/dx [c · x] = c with c = xy held; d/dy [sin(y₀) · y] = sin(y₀).
        assert_eq!(dx, x * y);
        assert_eq!(dy, y.sin());
    }
}

/// A stable logsumexp whose shift is held: its value does not depend on the
/// shift, so its gradient (the softmax) is the true one, and the gradient
/// code keeps no tape of the running maximum. In `f64` and `f32`.
macro_rules! logsumexp_held {
    ($name:ident, $t:ty) => {
        #[grad]
        fn $name(x: &[$t]) -> $t {
            let mut mx = x[0];
            for i in 1..x.len() {
                mx = mx.max(x[i]);
            }
            let mx = stop_gradient(mx);
            let mut semx = 0.0;
            for i in 0..x.len() {
                semx += (x[i] - mx).exp();
            }
            semx.ln() + mx
        }
    };
}
logsumexp_held!(logsumexp_held, f64);
logsumexp_held!(logsumexp_held_f32, f32);

/// The same, the shift differentiated through.
#[grad]
fn logsumexp_through(x: &[f64]) -> f64 {
    let mut mx = x[0];
    for i in 1..x.len() {
        mx = mx.max(x[i]);
    }
    let mut semx = 0.0;
    for i in 0..x.len() {
        semx += (x[i] - mx).exp();
    }
    semx.ln() + mx
}

#[test]
fn a_held_shift_gives_the_softmax() {
    for n in 1..=9 {
        let domain = vec![(-30.0, 30.0); n];
        check_f64(
            &format!("logsumexp_held/{n}"),
            logsumexp_held,
            logsumexp_held_grad,
            &domain,
            |_| true,
        );
        check_f32(
            &format!("logsumexp_held_f32/{n}"),
            logsumexp_held,
            logsumexp_held_f32,
            logsumexp_held_f32_grad,
            &vec![(-8.0, 8.0); n],
            |_| true,
        );
        let x = common::points(n, 7 + n as u64);
        let (v, g) = logsumexp_held_grad(&x);
        let (w, h) = logsumexp_through_grad(&x);
        assert_eq!(v.to_bits(), w.to_bits());
        let softmax: Vec<f64> = x.iter().map(|&xi| (xi - v).exp()).collect();
        for i in 0..n {
            assert!(
                (g[i] - softmax[i]).abs() < 1e-15,
                "{n}: {g:?} vs {softmax:?}"
            );
            assert!((g[i] - h[i]).abs() < 1e-15, "{n}: {g:?} vs {h:?}");
        }
    }
}

#[test]
fn snapshot_of_a_held_shift() {
    // No tape of the running maximum and no reverse of its loop.
    assert!(!LOGSUMEXP_HELD_GRAD_SOURCE.contains("tape_mx"));
    assert!(LOGSUMEXP_THROUGH_GRAD_SOURCE.contains("tape_mx"));
    common::snapshot("log_sum_exp_held", LOGSUMEXP_HELD_GRAD_SOURCE);
}

#[grad]
fn doc_example(x: f64) -> f64 {
    stop_gradient(x) * x
}

/// Normalised by a held norm: `x_i / |x|₀`, with the norm a constant.
#[grad]
fn held_norm(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i] * x[i];
    }
    let norm = stop_gradient(s.sqrt());
    let mut out = 0.0;
    for i in 0..x.len() {
        out += (x[i] / norm).sin() * stop_gradient(x[i]);
    }
    out
}

#[test]
fn the_documented_example_and_held_values_in_loops() {
    assert_eq!(doc_example_grad(3.0), (9.0, 3.0));
    for n in 1..=6 {
        let x = common::points(n, 40 + n as u64);
        let (v, g) = held_norm_grad(&x);
        assert_eq!(v.to_bits(), held_norm(&x).to_bits());
        let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
        for i in 0..n {
            // d/dx_i [sin(x_i / c) · x_i⁰] = cos(x_i / c) / c · x_i⁰.
            let want = (x[i] / norm).cos() / norm * x[i];
            assert!((g[i] - want).abs() < 1e-14, "{n}/{i}: {} vs {want}", g[i]);
        }
    }
}

/// A held copy of a vector: `Σ w_i x_i` with `w = x` held is `|x|²`, whose
/// gradient is then `x`, not `2x`.
#[grad]
fn held_vector(x: &[f64]) -> f64 {
    let w = stop_gradient(x.to_vec());
    let mut out = 0.0;
    for i in 0..x.len() {
        out += w[i] * x[i];
    }
    out
}

#[test]
fn a_held_vector() {
    for n in 0..=5 {
        let x = common::points(n, 90 + n as u64);
        let (v, g) = held_vector_grad(&x);
        assert_eq!(v.to_bits(), held_vector(&x).to_bits());
        assert_eq!(g, x);
    }
}
