//! Loops whose reverse runs inside the forward pass, one iteration at a time
//! (`autodiff-macros/src/fuse.rs`): an accumulator whose adjoint is known
//! before the loop (`±cotangent`), scratch values that live in one
//! iteration. Each function is checked against central differences, its
//! pullback with a cotangent other than 1, and its generated code for
//! whether the loop was fused (or, for the shapes that must not be, was
//! not).

// The functions use the forms users write, lint or not.
#![allow(
    clippy::needless_range_loop,
    clippy::useless_vec,
    clippy::assign_op_pattern
)]

use autodiff::grad;

mod common;
use common::{check_at as check, points as pts};

fn fused(src: &str) -> usize {
    src.matches("let mut fused_grad_").count()
}

/// Two loops into one returned accumulator (the heat energy).
#[grad(wrt(u))]
fn energy(u: &[f64], k: f64) -> f64 {
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

/// Accumulators reached through `+`/`-` (one negated), an accumulation
/// before the loop, `-=`, a `while` loop whose index is taped and must
/// survive the iteration's reverse, a branch and a call inside.
#[grad]
fn chained(x: &[f64], c: f64) -> f64 {
    let mut s = c * c;
    let mut t = 0.0;
    let mut i = 0;
    while i < x.len() {
        let y = x[i] * c;
        if y > 0.0 {
            s += y.sin() * x[(i + 1) % x.len()];
        } else {
            s -= inner(y, c);
        }
        t += y * y;
        i += 2;
    }
    let r = 0.5 + s;
    r - t
}

#[grad]
fn inner(a: f64, b: f64) -> f64 {
    (a * b).tanh() + a * a
}

/// A point loop over a mixture, with scratch vectors each iteration
/// overwrites whole before reading (`a` also read in the loop that writes
/// it) and a running maximum.
#[grad(wrt(mu, w))]
fn mixture(xs: &[f64], mu: &[f64], w: &[f64]) -> f64 {
    let k = mu.len();
    let mut a = vec![0.0; k];
    let mut z = vec![0.0; k];
    let mut ll = 0.0;
    for i in 0..xs.len() {
        let x = xs[i];
        let mut m = f64::NEG_INFINITY;
        for j in 0..k {
            a[j] = w[j] - (x - mu[j]) * (x - mu[j]);
            m = m.max(a[j]);
        }
        for j in 0..k {
            z[j] = (a[j] - m).exp();
        }
        let mut s = 0.0;
        for j in 0..k {
            s += z[j];
        }
        ll += m + s.ln();
    }
    -ll
}

/// A scratch vector written twice in each iteration (the second write
/// reads the first's values): its reverse needs the values in between, so
/// its elements are saved, where `mixture`'s are not.
#[grad]
fn rewritten_scratch(xs: &[f64], c: f64) -> f64 {
    let mut y = vec![0.0; 3];
    let mut total = 0.0;
    for i in 0..xs.len() {
        for j in 0..3 {
            y[j] = xs[i] * c + j as f64;
        }
        for j in 0..3 {
            y[j] = (y[j] * y[j]).sin();
        }
        let mut s = 0.0;
        for j in 0..3 {
            s += y[j] * c;
        }
        total += s;
    }
    total
}

/// Shapes that must not be fused: the accumulator read in its loop, a
/// loop that returns early (its value leaves the loop), a vector carried
/// from one iteration to the next, a scratch vector read after the loop
/// (the iterations' reverse puts back its older values), and an adjoint
/// target written after the loop.
#[grad]
fn unfusable(x: &[f64], c: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s = s * 0.5 + x[i];
    }
    let mut t = 0.0;
    for i in 0..x.len() {
        if x[i] > 0.95 {
            return t * c;
        }
        t += x[i] * c;
    }
    let mut carry = vec![0.0; 2];
    let mut u = 0.0;
    for i in 0..x.len() {
        carry[i % 2] = carry[(i + 1) % 2] + x[i];
        u += carry[i % 2] * c;
    }
    let mut v = 0.0;
    let mut p = c;
    for i in 0..x.len() {
        v += p * x[i];
    }
    if c > 0.0 {
        p = p * 3.0;
    }
    s + t + u + v + p + read_after(x, c)
}

/// A scratch vector read after its loop: the adjoint of that read belongs to
/// the last iteration, whose reverse must wait for it.
#[grad]
fn read_after(x: &[f64], c: f64) -> f64 {
    let mut scratch = vec![0.0; 2];
    let mut r = 0.0;
    for i in 0..x.len() {
        for j in 0..2 {
            scratch[j] = x[i] * c + j as f64;
        }
        r += scratch[0] * scratch[1];
    }
    r += scratch[1];
    r
}

/// `break` and `continue`: the iteration's reverse runs before the loop's
/// closing `if stop { break; }`, the flags guarding what did not run.
#[grad]
fn with_exits(x: &[f64], c: f64) -> f64 {
    let mut t = 0.0;
    for i in 0..x.len() {
        if x[i] < -0.8 {
            continue;
        }
        t += x[i].exp() * c;
        if x[i] > 0.6 {
            break;
        }
        t += c * c;
    }
    t
}

/// Loops over iterators: the loop variable lives in one iteration.
#[grad]
fn over_iterators(x: &[f64], c: f64) -> f64 {
    let mut s = 0.0;
    for xi in x.iter() {
        s += (xi * c).sin();
    }
    for (i, &xi) in x.iter().enumerate() {
        s -= xi * xi * (i as f64 + c);
    }
    s
}

#[test]
fn iterator_loops() {
    for seed in 1..6 {
        let mut p = pts(5, seed);
        p[4] = 0.5 * seed as f64;
        let (v, (gx, gc)) = over_iterators_grad(&p[..4], p[4]);
        assert_eq!(v.to_bits(), over_iterators(&p[..4], p[4]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check("over_iterators", |q| over_iterators(&q[..4], q[4]), &p, &g);
    }
    let src = OVER_ITERATORS_GRAD_SOURCE;
    assert_eq!(fused(src), 2, "{src}");
}

#[test]
fn accumulator_loops_run_their_reverse_in_the_forward_pass() {
    for seed in 1..6 {
        let u = pts(7, seed);
        let k = 0.3 + seed as f64 * 0.1;
        let (v, gu) = energy_grad(&u, k);
        assert_eq!(v.to_bits(), energy(&u, k).to_bits());
        check("energy", |p| energy(p, k), &u, &gu);
        // The pullback scales by its cotangent.
        let pu = energy_pullback(&u, k, -2.5);
        for (a, b) in pu.iter().zip(&gu) {
            assert!((a + 2.5 * b).abs() <= 1e-12 * b.abs().max(1.0));
        }
    }
    assert_eq!(fused(ENERGY_GRAD_SOURCE), 2, "{ENERGY_GRAD_SOURCE}");
}

#[test]
fn chained_and_negated_accumulators() {
    for seed in 1..8 {
        let mut p = pts(6, seed);
        p[5] = 0.4 + 0.1 * seed as f64;
        let (v, (gx, gc)) = chained_grad(&p[..5], p[5]);
        assert_eq!(v.to_bits(), chained(&p[..5], p[5]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check("chained", |q| chained(&q[..5], q[5]), &p, &g);
        let (px, pc) = chained_pullback(&p[..5], p[5], 0.75);
        assert!((pc - 0.75 * gc).abs() <= 1e-12 * gc.abs().max(1.0));
        for (a, b) in px.iter().zip(&gx) {
            assert!((a - 0.75 * b).abs() <= 1e-12 * b.abs().max(1.0));
        }
    }
    let src = CHAINED_GRAD_SOURCE;
    assert_eq!(fused(src), 2, "{src}");
    assert!(src.contains("let mut fused_grad_t: f64 = -1.0;"), "{src}");
    // The `while` index is taped for the reverse, and kept across it.
    assert!(src.contains("let kept_i = "), "{src}");
}

#[test]
fn scratch_vectors_live_in_one_iteration() {
    for seed in 1..6 {
        let xs = pts(9, seed);
        let mu = pts(3, seed + 20);
        let w = pts(3, seed + 40);
        let (v, (gmu, gw)) = mixture_grad(&xs, &mu, &w);
        assert_eq!(v.to_bits(), mixture(&xs, &mu, &w).to_bits());
        let p: Vec<f64> = mu.iter().chain(&w).copied().collect();
        let g: Vec<f64> = gmu.iter().chain(&gw).copied().collect();
        check("mixture", |q| mixture(&xs, &q[..3], &q[3..]), &p, &g);
    }
    let src = MIXTURE_GRAD_SOURCE;
    assert!(src.contains("let mut fused_grad_ll: f64 = -1.0;"), "{src}");
    // Nothing reads the scratch vectors' old elements, nor the values `m`
    // and `s` had before their `let`, nor `s` before its sum: only the
    // running maximum inside its loop (and the `exp`s) are taped.
    assert!(
        !src.contains("tape_a_elem") && !src.contains("tape_z_elem"),
        "{src}"
    );
    assert!(!src.contains("tape_s"), "{src}");
    assert_eq!(
        src.matches("push_reserved(&mut tape_m, m)").count(),
        1,
        "{src}"
    );
    assert!(!src.contains("tape_m.push"), "{src}");

    for seed in 1..6 {
        let mut p = pts(5, seed);
        p[4] = 0.3 + 0.2 * seed as f64;
        let (v, (gx, gc)) = rewritten_scratch_grad(&p[..4], p[4]);
        assert_eq!(v.to_bits(), rewritten_scratch(&p[..4], p[4]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check(
            "rewritten_scratch",
            |q| rewritten_scratch(&q[..4], q[4]),
            &p,
            &g,
        );
    }
    let src = REWRITTEN_SCRATCH_GRAD_SOURCE;
    assert_eq!(fused(src), 1, "{src}");
    assert!(src.contains("tape_y_elem"), "{src}");
}

#[test]
fn loops_that_must_wait_for_the_rest_of_the_function() {
    for seed in 1..6 {
        let mut p = pts(6, seed);
        p[5] = 0.3 * seed as f64;
        let (v, (gx, gc)) = unfusable_grad(&p[..5], p[5]);
        assert_eq!(v.to_bits(), unfusable(&p[..5], p[5]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check("unfusable", |q| unfusable(&q[..5], q[5]), &p, &g);
    }
    assert_eq!(fused(UNFUSABLE_GRAD_SOURCE), 0, "{UNFUSABLE_GRAD_SOURCE}");
    for seed in 1..4 {
        let mut p = pts(4, seed);
        p[3] = 0.5 + 0.2 * seed as f64;
        let (v, (gx, gc)) = read_after_grad(&p[..3], p[3]);
        assert_eq!(v.to_bits(), read_after(&p[..3], p[3]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check("read_after", |q| read_after(&q[..3], q[3]), &p, &g);
    }
    assert_eq!(fused(READ_AFTER_GRAD_SOURCE), 0, "{READ_AFTER_GRAD_SOURCE}");
}

#[test]
fn loops_with_break_and_continue() {
    for seed in 1..10 {
        let mut p = pts(6, seed);
        p[5] = 0.2 + 0.1 * seed as f64;
        let (v, (gx, gc)) = with_exits_grad(&p[..5], p[5]);
        assert_eq!(v.to_bits(), with_exits(&p[..5], p[5]).to_bits());
        let g: Vec<f64> = gx.iter().copied().chain([gc]).collect();
        check("with_exits", |q| with_exits(&q[..5], q[5]), &p, &g);
    }
    assert_eq!(fused(WITH_EXITS_GRAD_SOURCE), 1, "{WITH_EXITS_GRAD_SOURCE}");
}
