//! Sub-slice bindings, `let r = &x[a..b];`: indexed, measured, iterated,
//! sliced again and passed to calls, at the top level and bound per
//! iteration of a loop (a matrix's rows). The generated code reads `x`
//! through the view's offset, so each gradient is checked against central
//! differences (and each value bit for bit); the view's own checks (its
//! bounds when taken, an index past its end) must panic as the slice would,
//! never read the element after it.

#![allow(clippy::needless_range_loop, clippy::redundant_slicing)]

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

/// Every range form, a view of a view, `len`, indexing, and views passed to
/// a call whole and sliced.
#[grad]
fn forms(x: &[f64]) -> f64 {
    let n = x.len();
    let a = &x[1..4];
    let b = &x[2..=4];
    let c = &x[3..];
    let d = &x[..n - 2];
    let e = &x[..=1];
    let all = &x[..];
    let inner = &c[1..c.len() - 1];
    let mut s = a[0] * b[2] + c[c.len() - 1].sin() - d[1] * e[0] * e[1];
    s += inner[0] * inner[inner.len() - 1] * (all.len() as f64);
    s += norm2(a) + norm2(&b[1..]) + 0.5 * norm2(&inner[..1]);
    let alias = b;
    s + alias[0] * a.len() as f64
}

#[test]
fn every_range_form_indexed_measured_and_passed() {
    for seed in 0..8 {
        let x = pts(7, 10 + seed);
        let (v, g) = forms_grad(&x);
        assert_eq!(v.to_bits(), forms(&x).to_bits());
        check("forms", forms, &x, &g);
    }
}

/// Loops over views: by element, enumerated, zipped with another view and
/// with a vector.
#[grad]
fn walks(x: &[f64], w: &[f64]) -> f64 {
    let head = &x[..3];
    let tail = &x[2..];
    let mut s = 0.0;
    for v in head {
        s += v * v;
    }
    for (i, v) in tail.iter().enumerate() {
        s += v.cos() * (i as f64 + 1.0);
    }
    for (p, q) in head.iter().zip(tail.iter()) {
        s += p * q;
    }
    for (p, q) in tail.iter().zip(w) {
        s += p * q * q;
    }
    s
}

#[test]
fn loops_over_views() {
    for seed in 0..8 {
        let x = pts(6, 30 + seed);
        let w = pts(6, 50 + seed);
        let (v, (gx, gw)) = walks_grad(&x, &w);
        assert_eq!(v.to_bits(), walks(&x, &w).to_bits());
        check("walks dx", |p| walks(p, &w), &x, &gx);
        check("walks dw", |p| walks(&x, p), &w, &gw);
    }
}

/// A view per row of a matrix, bound in the loop, read by an inner loop
/// (the form the generated code windows: a base plus the loop variable),
/// and a data row that is not differentiated.
#[grad(wrt(a, x))]
fn rows(a: &[f64], x: &[f64], data: &[f64], m: usize) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..m {
        let row = &a[i * n..(i + 1) * n];
        let obs = &data[i * n..(i + 1) * n];
        let mut t = 0.0;
        for j in 0..n {
            t += row[j] * x[j] - obs[j];
        }
        s += t * t + norm2(row);
    }
    s.sqrt()
}

#[test]
fn rows_bound_per_iteration() {
    assert!(ROWS_GRAD_SOURCE.contains("view_covers"));
    assert!(!ROWS_GRAD_SOURCE.contains("view_index"));
    common::snapshot("row_views", ROWS_GRAD_SOURCE);
    for (m, n) in [(1, 1), (2, 3), (4, 5)] {
        for seed in 0..4 {
            let a = pts(m * n, 70 + seed);
            let x = pts(n, 80 + seed);
            let data = pts(m * n, 90 + seed);
            let (v, (ga, gx)) = rows_grad(&a, &x, &data, m);
            assert_eq!(v.to_bits(), rows(&a, &x, &data, m).to_bits());
            check("rows da", |p| rows(p, &x, &data, m), &a, &ga);
            check("rows dx", |p| rows(&a, p, &data, m), &x, &gx);
        }
    }
}

/// The view starts where `at` was when it was taken: the later steps of
/// `at` must not move it, in the forward pass or the backward.
#[grad]
fn moved_start(x: &[f64], steps: usize) -> f64 {
    let mut at = 1;
    let r = &x[at..at + 2];
    let mut s = 0.0;
    for _ in 0..steps {
        at += 1;
        s += r[0] * r[1] * x[at];
    }
    s + r[1]
}

#[test]
fn a_start_variable_written_after_the_view_is_taken() {
    for steps in [0, 1, 3] {
        for seed in 0..4 {
            let x = pts(6, 110 + seed);
            let (v, g) = moved_start_grad(&x, steps);
            assert_eq!(v.to_bits(), moved_start(&x, steps).to_bits());
            check("moved_start", |p| moved_start(p, steps), &x, &g);
        }
    }
}

/// Views of a vector the function writes, taken after the writes, and of
/// an integer vector (indices).
#[grad(wrt(x))]
fn of_locals(x: &[f64], picks: &[usize]) -> f64 {
    let mut y = vec![0.0; x.len()];
    for i in 0..x.len() {
        y[i] = x[i].exp();
    }
    let half = &y[x.len() / 2..];
    let chosen = &picks[1..];
    let mut s = norm2(half);
    for k in 0..chosen.len() {
        s += half[0] * x[chosen[k]];
    }
    s
}

#[test]
fn views_of_a_local_vector_and_of_indices() {
    let picks = [9, 0, 3, 3];
    for seed in 0..8 {
        let x = pts(5, 130 + seed);
        let (v, g) = of_locals_grad(&x, &picks);
        assert_eq!(v.to_bits(), of_locals(&x, &picks).to_bits());
        check("of_locals", |p| of_locals(p, &picks), &x, &g);
    }
}

#[grad]
fn rows32(a: &[f32], n: usize) -> f32 {
    let mut s = 0.0;
    for i in 0..a.len() / n {
        let row = &a[i * n..(i + 1) * n];
        let mut t = 0.0;
        for v in row {
            t += v * v;
        }
        s += (t + 1.0).ln();
    }
    s
}

#[grad]
fn rows64(a: &[f64], n: usize) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() / n {
        let row = &a[i * n..(i + 1) * n];
        let mut t = 0.0;
        for v in row {
            t += v * v;
        }
        s += (t + 1.0).ln();
    }
    s
}

#[test]
fn f32_rows() {
    common::check_f32(
        "rows32",
        |p| rows64(p, 3),
        |p| rows32(p, 3),
        |p| rows32_grad(p, 3),
        &[(-1.0, 1.0); 6],
        |_| true,
    );
}

/// Reads `r[k]` for `k` up to `upto`: past the view's end, the gradient
/// must panic as `f` does, not read the next element of `x`.
#[grad]
fn past_the_end(x: &[f64], upto: usize) -> f64 {
    let r = &x[1..3];
    let mut s = 0.0;
    for k in 0..upto {
        s += r[k] * r[k];
    }
    s + r[upto - 1]
}

#[test]
fn within_the_view_a_loop_reads_through_it() {
    let x = pts(5, 150);
    let (v, g) = past_the_end_grad(&x, 2);
    assert_eq!(v.to_bits(), past_the_end(&x, 2).to_bits());
    check("past_the_end", |p| past_the_end(p, 2), &x, &g);
}

#[test]
#[should_panic(expected = "index out of bounds: the len is 2 but the index is 2")]
fn an_index_past_the_view_panics_in_the_function() {
    past_the_end(&pts(5, 150), 3);
}

#[test]
#[should_panic(expected = "index out of bounds: the len is 2 but the index is 2")]
fn an_index_past_the_view_panics_in_the_gradient() {
    let _ = past_the_end_grad(&pts(5, 150), 3);
}

#[grad]
fn single_read(x: &[f64], k: usize) -> f64 {
    let r = &x[2..4];
    r[k] * 2.0
}

#[test]
#[should_panic(expected = "index out of bounds: the len is 2 but the index is 2")]
fn a_single_read_past_the_view_panics() {
    let _ = single_read_grad(&pts(6, 160), 2);
}

#[grad]
fn reversed(x: &[f64], a: usize, b: usize) -> f64 {
    let r = &x[a..b];
    r.len() as f64 * x[0]
}

#[test]
fn bad_bounds_panic_as_slicing_does() {
    let x = pts(4, 170);
    let msg = |f: &dyn Fn()| {
        let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
        e.downcast_ref::<String>().cloned().unwrap_or_default()
    };
    let ours = msg(&|| {
        let _ = reversed_grad(&x, 3, 2);
    });
    assert_eq!(
        ours,
        msg(&|| {
            let _ = reversed(&x, 3, 2);
        })
    );
    assert!(
        ours.contains("slice index starts at 3 but ends at 2"),
        "{ours}"
    );
    let ours = msg(&|| {
        let _ = reversed_grad(&x, 1, 9);
    });
    assert_eq!(
        ours,
        msg(&|| {
            let _ = reversed(&x, 1, 9);
        })
    );
    assert!(
        ours.contains("out of range for slice of length 4"),
        "{ours}"
    );
}

/// A view of a local vector that the loop overwrites after the view's last
/// read: the backward pass must read the elements as they were.
#[grad]
fn overwritten_base(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let mut s = 0.0;
    for step in 0..3 {
        let r = &y[step..step + 2];
        let t = r[0] * r[1] + r[0];
        s += t;
        for i in 0..y.len() {
            y[i] = y[i] * t + 0.1;
        }
    }
    s + y[0]
}

#[test]
fn a_base_overwritten_after_the_view() {
    for seed in 0..8 {
        let x: Vec<f64> = pts(5, 190 + seed).iter().map(|v| v * 0.5).collect();
        let (v, g) = overwritten_base_grad(&x);
        assert_eq!(v.to_bits(), overwritten_base(&x).to_bits());
        check("overwritten_base", overwritten_base, &x, &g);
    }
}
