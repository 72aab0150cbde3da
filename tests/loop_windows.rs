//! Loops whose vectors are indexed through a window taken before the loop
//! (`autodiff-macros/src/window.rs`): by the loop variable, by a counter
//! stepped once per iteration, in both sweeps. Each function is checked
//! against central differences and its value bit for bit; its generated
//! code for which vectors got a window. A window must fail exactly where
//! the loop would have, and never where it would not: the shapes that must
//! not get one (a branch, a `break`, a read after the counter's step) are
//! run where a window would be out of bounds.

#![allow(
    clippy::needless_range_loop,
    clippy::assign_op_pattern,
    clippy::manual_memcpy
)]

use autodiff::grad;

mod common;
use common::{check_at as check, count, points as pts};

fn has(src: &str, code: &str) -> bool {
    count(src, code) > 0
}

common::packed_triangle!(packed_triangle, f64);

#[test]
fn triangular_loops_index_windows_in_both_sweeps() {
    let src = PACKED_TRIANGLE_GRAD_SOURCE;
    // The inner loop, forward and reverse: `y` by `j`, `l` by `li`, and
    // their adjoints alike.
    for w in [
        "let l = ::autodiff::__rt::window(&l[..], li,",
        "let y = ::autodiff::__rt::window_mut(&mut y[..], window_start",
        "let grad_y = ::autodiff::__rt::window(&grad_y[..], window_start",
        "let grad_l = ::autodiff::__rt::window_mut(&mut grad_l[..], li - window_count",
    ] {
        assert!(has(src, w), "{w}\n{src}");
    }
    for d in [0usize, 1, 2, 5, 8] {
        let l = pts(d * d.saturating_sub(1) / 2, d as u64 + 3);
        let x = pts(d, 17 + d as u64);
        let (v, (gl, gx)) = packed_triangle_grad(&l, &x, d);
        assert_eq!(v.to_bits(), packed_triangle(&l, &x, d).to_bits());
        let n = l.len();
        let both = [l.clone(), x.clone()].concat();
        let g = [gl, gx].concat();
        check(
            "packed_triangle",
            |p| packed_triangle(&p[..n], &p[n..], d),
            &both,
            &g,
        );
    }
}

/// An inclusive range that starts past zero, a vector read twice at the
/// same index and written at it.
#[grad]
fn inclusive_window(x: &[f64], a: usize, b: usize) -> f64 {
    let mut z = vec![1.0f64; x.len()];
    for i in a..=b {
        z[i] = x[i] * x[i] + z[i].sin();
    }
    let mut s = 0.0;
    for i in 0..z.len() {
        s += z[i] * (i as f64 + 0.5);
    }
    s
}

#[test]
fn inclusive_ranges_window_from_their_start() {
    let src = INCLUSIVE_WINDOW_GRAD_SOURCE;
    assert!(has(src, "window_mut(&mut z[..]"), "{src}");
    for (a, b) in [(0, 5), (2, 4), (3, 3), (4, 2)] {
        let x = pts(6, a as u64 * 7 + b as u64);
        let (v, g) = inclusive_window_grad(&x, a, b);
        assert_eq!(v.to_bits(), inclusive_window(&x, a, b).to_bits());
        check("inclusive_window", |p| inclusive_window(p, a, b), &x, &g);
    }
}

/// The counter read after its step (`z[c]` is the next element), and a
/// counter stepped by two: neither is the window's index.
#[grad]
fn counters_off_the_window(y: &[f64], z: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    let mut c = 0;
    let mut e = 0;
    for _ in 0..n {
        s += y[c] * z[e];
        c += 1;
        s += z[c] * 0.5;
        e += 2;
    }
    s.sin()
}

#[test]
fn counters_read_after_their_step_keep_their_checks() {
    let src = COUNTERS_OFF_THE_WINDOW_GRAD_SOURCE;
    assert!(has(src, "window(&y[..], c,"), "{src}");
    assert!(!has(src, "window(&z[..]"), "{src}");
    for n in [0, 1, 3] {
        let y = pts(n + 1, 5);
        let z = pts(2 * n + 1, 9);
        let (v, (gy, gz)) = counters_off_the_window_grad(&y, &z, n);
        assert_eq!(v.to_bits(), counters_off_the_window(&y, &z, n).to_bits());
        let k = y.len();
        check(
            "counters_off_the_window",
            |p| counters_off_the_window(&p[..k], &p[k..], n),
            &[y.clone(), z.clone()].concat(),
            &[gy, gz].concat(),
        );
    }
}

/// Sums `x[0..n]`: every iteration reads `x[j]`.
#[grad]
fn every_iteration(x: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for j in 0..n {
        s += x[j] * x[j];
    }
    s.sin()
}

#[test]
#[should_panic(expected = "index out of bounds: the len is 3 but the index is 3")]
fn a_window_past_the_end_fails_like_the_loop() {
    assert!(has(EVERY_ITERATION_GRAD_SOURCE, "window(&x[..]"));
    // The loop itself fails at `x[3]`.
    let plain = std::panic::catch_unwind(|| every_iteration(&[1.0, 2.0, 3.0], 5));
    let message = *plain.unwrap_err().downcast::<String>().unwrap();
    assert_eq!(
        message,
        "index out of bounds: the len is 3 but the index is 3"
    );
    let _ = every_iteration_grad(&[1.0, 2.0, 3.0], 5);
}

/// Empty loops starting past the end, and `x[j]` read only under a guard or
/// before a `break`: a window of `x[0..n]` would be out of bounds, the loop
/// is not.
#[grad]
fn guarded(x: &[f64], a: usize, b: usize, n: usize, m: usize) -> f64 {
    let mut s = 0.0;
    for j in a..b {
        s += x[j];
    }
    for j in 0..n {
        if j < m {
            s += x[j] * x[j];
        }
    }
    for j in 0..n {
        if j >= m {
            break;
        }
        s += x[j].sin();
    }
    s.sin()
}

#[test]
fn loops_that_stop_short_of_the_end_take_no_window() {
    let src = GUARDED_GRAD_SOURCE;
    // The first loop gets one in each sweep; the guarded and the breaking
    // loop do not.
    assert_eq!(count(src, "window(&x[..]"), 1, "{src}");
    assert_eq!(count(src, "window_mut(&mut grad_x[..]"), 1, "{src}");
    let x = pts(3, 11);
    // `a..b` empty and starting past the end, or within `x`; the guarded
    // loops run to `n = 10`, past the end, and stop reading at `m = 3`.
    for (a, b) in [(7, 7), (9, 2), (0, 3), (1, 3)] {
        for n in [3, 10] {
            let (v, g) = guarded_grad(&x, a, b, n, 3);
            assert_eq!(v.to_bits(), guarded(&x, a, b, n, 3).to_bits());
            check("guarded", |p| guarded(p, a, b, n, 3), &x, &g);
        }
    }
}

/// A flattened matrix read by rows (`a[i * d + j]`), and a vector read at
/// an offset that the loop moves (`x[b + j]`, `b` stepped in the body).
#[grad]
fn flattened_rows(a: &[f64], x: &[f64], m: usize, d: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..m {
        let mut r = 0.0;
        for j in 0..d {
            r += a[i * d + j] * x[j];
        }
        s += r.tanh();
    }
    let mut b = 0;
    for j in 0..d {
        s += x[b + j] * 0.25;
        b = j % 2;
    }
    s.sin()
}

#[test]
fn rows_of_a_flattened_matrix_get_windows() {
    let src = FLATTENED_ROWS_GRAD_SOURCE;
    // The base `i * d` is computed once per row, in both sweeps.
    assert_eq!(count(src, "window(&a[..], if"), 2, "{src}");
    assert_eq!(count(src, "window_mut(&mut grad_a[..], if"), 1, "{src}");
    assert!(has(src, "+ (i * d)"), "{src}");
    // `x[j]` in the row loop, in both sweeps; `b + j` moves with `b`, so
    // the last loop takes no window.
    assert_eq!(count(src, "window(&x[..]"), 2, "{src}");
    assert_eq!(count(src, "window_mut(&mut grad_x[..]"), 1, "{src}");
    for (m, d) in [(0, 3), (3, 0), (1, 1), (3, 4)] {
        let a = pts(m * d, 3 + m as u64);
        let x = pts(d + 1, 5 + d as u64);
        let (v, (ga, gx)) = flattened_rows_grad(&a, &x, m, d);
        assert_eq!(v.to_bits(), flattened_rows(&a, &x, m, d).to_bits());
        let k = a.len();
        check(
            "flattened_rows",
            |p| flattened_rows(&p[..k], &p[k..], m, d),
            &[a.clone(), x.clone()].concat(),
            &[ga, gx].concat(),
        );
    }
}
