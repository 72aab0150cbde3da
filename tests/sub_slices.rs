//! Sub-slices passed to calls (`f(&x[a..b])`): the callee borrows part of a
//! vector, and its gradient lands in that part of the vector's adjoint.
//! Every form of range, overlapping parts, bounds computed in a loop, a
//! vector overwritten after the call (the backward pass must slice it as it
//! was), and a caller-side window that must not be taken. Each gradient is
//! checked against central differences and each value bit for bit.

#![allow(
    clippy::needless_range_loop,
    clippy::redundant_slicing,
    clippy::manual_memcpy,
    clippy::useless_vec
)]

use autodiff::grad;

mod common;
use common::{check_at as check, points as pts};

#[grad]
fn norm2(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

#[grad]
fn lse(v: &[f64]) -> f64 {
    let mut mx = v[0];
    for i in 1..v.len() {
        mx = mx.max(v[i]);
    }
    let mut s = 0.0;
    for i in 0..v.len() {
        s += (v[i] - mx).exp();
    }
    s.ln() + mx
}

/// A weighted sum over some entries of `v`, picked by `at`: a callee with a
/// constant (integer) slice parameter.
#[grad(wrt(v))]
fn picked(v: &[f64], at: &[usize]) -> f64 {
    let mut s = 0.0;
    for i in 0..at.len() {
        s += v[at[i]] * (i as f64 + 1.0);
    }
    s
}

/// Every range form, overlapping parts, at the top level.
#[grad]
fn ranges(x: &[f64]) -> f64 {
    let n = x.len();
    let a = norm2(&x[0..2]);
    let b = norm2(&x[1..=3]);
    let c = lse(&x[2..]);
    let d = lse(&x[..n - 1]);
    let e = norm2(&x[..]);
    a * b.sin() + c * d - 0.1 * e
}

#[test]
fn every_range_form_at_the_top_level() {
    for seed in 0..6 {
        let x = pts(6, 40 + seed);
        let (v, g) = ranges_grad(&x);
        assert_eq!(v.to_bits(), ranges(&x).to_bits());
        check("ranges", ranges, &x, &g);
    }
}

/// GMM's shape: a local `n × k` table, then a log-sum-exp over each row,
/// the row's bounds computed in the loop.
#[grad]
fn rows_lse(x: &[f64], n: usize, k: usize) -> f64 {
    let mut table = vec![0.0; n * k];
    for i in 0..n {
        for j in 0..k {
            table[i * k + j] = x[i * k + j] * x[(i * k + j + 1) % (n * k)];
        }
    }
    let mut s = 0.0;
    for i in 0..n {
        s += lse(&table[i * k..(i + 1) * k]);
    }
    s
}

#[test]
fn row_bounds_computed_in_a_loop() {
    for (n, k) in [(1, 1), (3, 2), (4, 5)] {
        let x = pts(n * k, (n * 10 + k) as u64);
        let (v, g) = rows_lse_grad(&x, n, k);
        assert_eq!(v.to_bits(), rows_lse(&x, n, k).to_bits());
        check("rows_lse", |p| rows_lse(p, n, k), &x, &g);
    }
}

/// The call's reverse runs after the loop has overwritten the vector and
/// the counter the bounds read: the backward pass must see both as they
/// were at the call. (A product does not fuse, so the call's reverse is its
/// pullback, run in the loop's reverse.)
#[grad]
fn overwritten_after_the_call(x: &[f64], steps: usize) -> f64 {
    let mut w = vec![0.0; 4];
    for j in 0..4 {
        w[j] = x[j];
    }
    let mut at = 0;
    let mut p = 1.0;
    for i in 0..steps {
        p *= 1.0 + norm2(&w[at..at + 2]);
        for j in 0..4 {
            w[j] = w[j] * x[(i + j) % 4] + 0.1;
        }
        at = (at + 1) % 3;
    }
    p
}

#[test]
fn a_vector_and_bounds_overwritten_after_the_call() {
    for steps in [0, 1, 2, 5] {
        for seed in 0..4 {
            let x: Vec<f64> = pts(4, 70 + seed).iter().map(|v| v * 0.5).collect();
            let (v, g) = overwritten_after_the_call_grad(&x, steps);
            assert_eq!(v.to_bits(), overwritten_after_the_call(&x, steps).to_bits());
            check(
                "overwritten_after_the_call",
                |p| overwritten_after_the_call(p, steps),
                &x,
                &g,
            );
        }
    }
}

/// A loop that indexes `t` by its variable (a window candidate) and also
/// passes a growing prefix of `t` to a call: the prefix is not `t[i]`, so
/// `t` must take no window there.
#[grad]
fn prefixes(x: &[f64]) -> f64 {
    let n = x.len();
    let mut t = vec![0.0; n];
    let mut s = 0.0;
    for i in 0..n {
        t[i] = x[i] * x[i] + 0.5;
        s += norm2(&t[0..i + 1]).sqrt();
    }
    s
}

#[test]
fn a_prefix_beside_an_element_takes_no_window() {
    let src = PREFIXES_GRAD_SOURCE;
    assert!(!src.contains("window(&t[..]"), "{src}");
    assert!(!src.contains("window_mut(&mut t[..]"), "{src}");
    for n in [1, 2, 5] {
        let x = pts(n, 90 + n as u64);
        let (v, g) = prefixes_grad(&x);
        assert_eq!(v.to_bits(), prefixes(&x).to_bits());
        check("prefixes", prefixes, &x, &g);
    }
}

/// A constant (integer) vector sliced and passed along with a float one.
#[grad(wrt(x))]
fn picks(x: &[f64], at: &[usize]) -> f64 {
    picked(&x[1..], &at[1..]) * picked(&x[..3], &at[..2])
}

#[test]
fn constant_vectors_are_sliced_as_written() {
    let at = [2usize, 0, 1, 2];
    for seed in 0..4 {
        let x = pts(4, 120 + seed);
        let (v, g) = picks_grad(&x, &at);
        assert_eq!(v.to_bits(), picks(&x, &at).to_bits());
        check("picks", |p| picks(p, &at), &x, &g);
    }
}

/// The sum of the callee's value over the parts of one vector equals the
/// whole-vector call when the parts tile it: the gradients add up exactly.
#[grad]
fn tiled(x: &[f64], k: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() / k {
        s += norm2(&x[i * k..(i + 1) * k]);
    }
    s
}

#[test]
fn tiles_add_up_to_the_whole() {
    let x = pts(12, 5);
    for k in [1, 2, 3, 4, 6, 12] {
        let (v, g) = tiled_grad(&x, k);
        let (w, h) = norm2_grad(&x);
        assert!((v - w).abs() < 1e-12 * w.abs());
        assert_eq!(g, h);
    }
}

#[test]
fn an_out_of_range_slice_fails_like_the_function() {
    let x = pts(3, 1);
    let plain = std::panic::catch_unwind(|| rows_lse(&x, 2, 2));
    let grad = std::panic::catch_unwind(|| rows_lse_grad(&x, 2, 2));
    assert!(plain.is_err() && grad.is_err());
}
