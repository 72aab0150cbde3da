//! Vectors moved from one binding to another (`let v = w;`, `v = w;`, a
//! branch whose value is a vector, `for e in w`) and vectors whose length
//! changes from one value to the next. The user never reads a moved vector
//! again, but the gradient code does (its adjoint is shaped like it, a loop
//! saves it, the reverse of the code that wrote it reads it), so these used
//! to be compile errors inside the expansion (E0382) or, for a changed
//! length, an index panic in the reverse pass. Gradients are checked against
//! central differences, values bit for bit.

#![allow(clippy::needless_range_loop)]

use autodiff::grad;

mod common;
use common::{check_f32, check_f64};

#[grad]
fn moved_binding(x: &[f64]) -> f64 {
    let mut w = vec![0.0; x.len()];
    for j in 0..x.len() {
        w[j] = x[j] * x[j];
    }
    let v = w;
    v[0] * v[1] + v[2]
}

#[grad]
fn moved_assignment(x: &[f64]) -> f64 {
    let mut w = vec![0.0; x.len()];
    for j in 0..x.len() {
        w[j] = x[j].sin() * x[0];
    }
    let mut v = x.to_vec();
    let before = v[1] * v[2];
    v = w;
    before + v[0] * v[2]
}

/// Each step builds the next iterate from the last and moves it in: the
/// `let` of `w` runs once per iteration, after the last one was moved.
#[grad]
fn iterate_and_move(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    let mut s = 0.0;
    for it in 0..3 {
        let mut w = v.clone();
        for j in 0..w.len() {
            w[j] = w[j] * v[(j + 1) % v.len()] + it as f64;
        }
        v = w;
        s += v[0];
    }
    s
}

/// The vector grows by one element per iteration.
#[grad]
fn growing(x: &[f64]) -> f64 {
    let mut v = vec![x[0]; 1];
    let mut s = 0.0;
    for i in 0..x.len() {
        v = vec![x[i] * v[0]; i + 1];
        s += v[0] * v[i];
    }
    s
}

/// The vector shrinks by one element per iteration: each adjoint must take
/// the length of the value it belongs to, not the next one's.
#[grad]
fn shrinking(x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    let mut s = 0.0;
    for i in 0..3 {
        let mut w = vec![0.0; v.len() - 1];
        for j in 0..w.len() {
            w[j] = v[j + 1] * v[j];
        }
        v = w;
        s += v[0] * v[v.len() - 1] * (i as f64 + 1.0);
    }
    s
}

#[grad]
fn shrinking_f32(x: &[f32]) -> f32 {
    let mut v = x.to_vec();
    let mut s = 0.0;
    for i in 0..3 {
        let mut w = vec![0.0; v.len() - 1];
        for j in 0..w.len() {
            w[j] = v[j + 1] * v[j];
        }
        v = w;
        s += v[0] * v[v.len() - 1] * (i as f32 + 1.0);
    }
    s
}

/// A branch's value is one of three vectors.
#[grad]
fn branch_value(x: &[f64]) -> f64 {
    let mut w = vec![0.0; x.len()];
    let mut u = vec![0.0; x.len()];
    for j in 0..x.len() {
        w[j] = x[j] * x[j];
        u[j] = x[j].sin();
    }
    let z = vec![x[2]; x.len()];
    let v = if x[0] > 0.3 {
        w
    } else if x[0] < -0.3 {
        u
    } else {
        z
    };
    v[0] * v[1]
}

/// A loop that consumes the vector it walks.
#[grad]
fn consumed_by_loop(x: &[f64]) -> f64 {
    let mut w = vec![0.0; x.len()];
    for j in 0..x.len() {
        w[j] = x[j] * x[j];
    }
    let mut s = 0.0;
    for e in w {
        s += e * x[0];
    }
    s
}

const DOMAIN: [(f64, f64); 5] = [(-1.0, 1.0); 5];

fn five(f: fn(&[f64]) -> f64) -> impl Fn(&[f64]) -> f64 {
    move |x: &[f64]| f(x)
}

#[test]
fn a_moved_vector_differentiates() {
    check_f64(
        "moved_binding",
        five(moved_binding),
        moved_binding_grad,
        &DOMAIN,
        |_| true,
    );
    check_f64(
        "moved_assignment",
        five(moved_assignment),
        moved_assignment_grad,
        &DOMAIN,
        |_| true,
    );
    check_f64(
        "iterate_and_move",
        five(iterate_and_move),
        iterate_and_move_grad,
        &DOMAIN,
        |_| true,
    );
    check_f64(
        "consumed_by_loop",
        five(consumed_by_loop),
        consumed_by_loop_grad,
        &DOMAIN,
        |_| true,
    );
}

#[test]
fn a_vector_whose_length_changes_differentiates() {
    check_f64("growing", five(growing), growing_grad, &DOMAIN, |_| true);
    check_f64(
        "shrinking",
        five(shrinking),
        shrinking_grad,
        &DOMAIN,
        |_| true,
    );
    check_f32(
        "shrinking_f32",
        five(shrinking),
        shrinking_f32,
        shrinking_f32_grad,
        &DOMAIN,
        |_| true,
    );
}

#[test]
fn a_branch_whose_value_is_a_vector_differentiates() {
    // Points on both sides of both thresholds, away from them.
    check_f64(
        "branch_value",
        five(branch_value),
        branch_value_grad,
        &DOMAIN,
        |x| (x[0].abs() - 0.3).abs() > 1e-3,
    );
    let taken = |lo: f64, hi: f64| {
        let mut x = [0.2, -0.4, 0.6, 0.1, 0.9];
        x[0] = 0.5 * (lo + hi);
        branch_value_grad(&x).1
    };
    // x[0] > 0.3: v = x², d/dx0 = 2 x0 x1²; x[0] < -0.3: v = sin x, d/dx0 = cos x0 sin x1.
    let g = taken(0.5, 0.5);
    assert!((g[0] - 2.0 * 0.5 * 0.16).abs() < 1e-12, "{g:?}");
    let g = taken(-0.5, -0.5);
    assert!(
        (g[0] - (-0.5f64).cos() * (-0.4f64).sin()).abs() < 1e-12,
        "{g:?}"
    );
    // In between: v = [x2; n], v0·v1 = x2², only x2 moves it.
    let g = taken(0.0, 0.0);
    assert_eq!(g, vec![0.0, 0.0, 2.0 * 0.6, 0.0, 0.0]);
}
