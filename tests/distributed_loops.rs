//! Reverse loops that add into a window and sum into a scalar, run as two
//! loops when a row has at least 12 iterations
//! (`autodiff-macros/src/distribute.rs`): the sums in blocks of four partial
//! sums, then the element writes in forward order. Each function is run at
//! sizes below, at and above that length, with and without a partial block
//! of four, and checked against central differences, a gradient written by
//! hand, and its value bit for bit.

#![allow(clippy::needless_range_loop, clippy::manual_memcpy)]

use autodiff::grad;

mod common;
use common::{check_at as check, count, points as pts};

// GMM's triangular product: the reverse of its inner loop adds
// `grad_y[j] * x[i]` into `grad_l[li]` and sums `grad_y[j] * l[li]` for `x[i]`.
common::packed_triangle!(packed_triangle, f64);

/// `packed_triangle`'s gradient, derived by hand.
fn packed_triangle_by_hand(l: &[f64], x: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut y = x[..d].to_vec();
    let mut li = 0;
    for i in 0..d {
        for j in i + 1..d {
            y[j] += l[li] * x[i];
            li += 1;
        }
    }
    let gy: Vec<f64> = y.iter().map(|v| 2.0 * v).collect();
    let (mut gl, mut gx) = (vec![0.0; l.len()], gy.clone());
    let mut li = 0;
    for i in 0..d {
        for j in i + 1..d {
            gl[li] = gy[j] * x[i];
            gx[i] += gy[j] * l[li];
            li += 1;
        }
    }
    (gl, gx)
}

/// Largest difference relative to the larger magnitude (1 at least).
fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs() / p.abs().max(q.abs()).max(1.0))
        .fold(0.0, f64::max)
}

#[test]
fn triangular_rows_sum_in_blocks_and_add_in_order() {
    let src = PACKED_TRIANGLE_GRAD_SOURCE;
    // The inner loop's reverse, both forms: the distributed one for rows of
    // 12 and more, the single reversed loop below.
    assert_eq!(count(src, "if window_count_"), 1, "{src}");
    for code in [
        "let distributed_blocks = window_count_",
        // `x[i]` is read once per row, not per element.
        "let t",
        "grad_x_sum += (grad_x_sum_part0 + grad_x_sum_part1) + (grad_x_sum_part2 + grad_x_sum_part3);",
        "li = li - window_count_",
    ] {
        assert!(count(src, code) >= 1, "{code}\n{src}");
    }
    // Rows of 0 to 39 elements: below 12, exactly 12, whole blocks of four
    // and a partial one.
    for d in [0usize, 1, 2, 7, 12, 13, 14, 15, 16, 17, 22, 40] {
        let l = pts(d * d.saturating_sub(1) / 2, d as u64 + 3);
        let x = pts(d, 17 + d as u64);
        let (v, (gl, gx)) = packed_triangle_grad(&l, &x, d);
        assert_eq!(v.to_bits(), packed_triangle(&l, &x, d).to_bits());
        let (hl, hx) = packed_triangle_by_hand(&l, &x, d);
        assert!(max_rel(&gl, &hl) < 1e-13, "d = {d}: grad_l {gl:?} {hl:?}");
        assert!(max_rel(&gx, &hx) < 1e-13, "d = {d}: grad_x {gx:?} {hx:?}");
        let n = l.len();
        check(
            "packed_triangle",
            |p| packed_triangle(&p[..n], &p[n..], d),
            &[l.clone(), x.clone()].concat(),
            &[gl, gx].concat(),
        );
    }
}

// The same product in `f32`.
common::packed_triangle!(packed_triangle_f32, f32);

#[test]
fn triangular_rows_in_f32() {
    assert!(count(PACKED_TRIANGLE_F32_GRAD_SOURCE, "distributed_blocks") > 0);
    let d = 13;
    let n = d * (d - 1) / 2;
    common::check_f32(
        "packed_triangle_f32",
        |p| packed_triangle(&p[..n], &p[n..], d),
        |p| packed_triangle_f32(&p[..n], &p[n..], d),
        |p| {
            let (v, (gl, gx)) = packed_triangle_f32_grad(&p[..n], &p[n..], d);
            (v, [gl, gx].concat())
        },
        &vec![(-0.5, 0.5); n + d],
        |_| true,
    );
}

/// Two sums in one loop (for `a` and `b`), the loop variable read in the
/// reverse (`j as f64`), a value the same on every iteration (`r as f64`),
/// and an adjoint with two terms (`x[j]` is read twice).
#[grad]
fn scaled_rows(x: &[f64], z: &[f64], a: f64, b: f64, n: usize) -> f64 {
    let mut y = vec![0.0; n];
    for r in 0..3 {
        for j in 0..n {
            y[j] += a * x[j] - b * z[j] * (j as f64 + 1.0) + (r as f64) * x[j];
        }
    }
    let mut s = 0.0;
    for j in 0..n {
        s += y[j] * y[j].sin();
    }
    s
}

#[test]
fn two_sums_and_the_loop_variable() {
    let src = SCALED_ROWS_GRAD_SOURCE;
    for code in [
        "let distributed_blocks",
        "grad_a += (grad_a_part0 + grad_a_part1) + (grad_a_part2 + grad_a_part3);",
        "grad_b += (grad_b_part0 + grad_b_part1) + (grad_b_part2 + grad_b_part3);",
    ] {
        assert_eq!(count(src, code), 1, "{code}\n{src}");
    }
    for n in [0usize, 3, 11, 12, 13, 15, 16, 33] {
        let x = pts(n, 5 + n as u64);
        let z = pts(n, 50 + n as u64);
        let (a, b) = (0.7, -0.4);
        let (v, (gx, gz, ga, gb)) = scaled_rows_grad(&x, &z, a, b, n);
        assert_eq!(v.to_bits(), scaled_rows(&x, &z, a, b, n).to_bits());
        check(
            "scaled_rows",
            |p| scaled_rows(&p[..n], &p[n..2 * n], p[2 * n], p[2 * n + 1], n),
            &[x.clone(), z.clone(), vec![a, b]].concat(),
            &[gx, gz, vec![ga, gb]].concat(),
        );
    }
}

/// `y[j] -= a * x[j]` on a vector the loop overwrites: its reverse pops the
/// old elements off a tape, last first, so it keeps the single reversed
/// loop.
#[grad]
fn taped_axpy(x: &[f64], a: f64, n: usize) -> f64 {
    let mut y = vec![1.0; n];
    for j in 0..n {
        y[j] -= a * x[j];
    }
    let mut s = 0.0;
    for j in 0..n {
        s += y[j] * y[j];
    }
    s
}

#[test]
fn a_tape_in_the_reverse_keeps_the_single_loop() {
    let src = TAPED_AXPY_GRAD_SOURCE;
    assert_eq!(count(src, "distributed"), 0, "{src}");
    for n in [0usize, 9, 20] {
        let x = pts(n, 8);
        let (v, (gx, ga)) = taped_axpy_grad(&x, 1.3, n);
        assert_eq!(v.to_bits(), taped_axpy(&x, 1.3, n).to_bits());
        check(
            "taped_axpy",
            |p| taped_axpy(&p[..n], p[n], n),
            &[x.clone(), vec![1.3]].concat(),
            &[gx, vec![ga]].concat(),
        );
    }
}

#[test]
fn snapshot() {
    common::snapshot("distributed_triangle", PACKED_TRIANGLE_GRAD_SOURCE);
}
