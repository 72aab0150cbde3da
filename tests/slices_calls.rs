//! Slices, arrays and vectors; calls between `#[grad]` functions; the
//! lectures' and issue's loop examples (log-sum-exp, a scalar RNN, logistic
//! regression, a Gaussian log-likelihood). Every gradient is checked against
//! central differences.

// The functions deliberately use the forms users write, lint or not.
#![allow(clippy::needless_range_loop, clippy::useless_vec)]

mod common;
use autodiff::{grad, sigmoid};

use common::{check_at as check, points as pts};

#[grad]
fn dot(w: &[f64], x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..w.len() {
        s += w[i] * x[i];
    }
    s
}

#[grad]
fn iterate_forms(w: &[f64], x: &[f64], c: [f64; 3], v: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for wi in w.iter() {
        s += wi * wi;
    }
    for (i, &xi) in x.iter().enumerate() {
        s += xi * (i as f64 + 1.0);
    }
    for (a, b) in w.iter().zip(x) {
        s += a * b.sin();
    }
    for ci in c {
        s += ci.exp();
    }
    for vi in &v {
        s += *vi * s.tanh();
    }
    s + c[0] * v[v.len() - 1]
}

#[test]
fn slice_array_and_vec_parameters() {
    for seed in 1..4 {
        let w = pts(4, seed);
        let x = pts(4, seed + 10);
        let (v, (gw, gx)) = dot_grad(&w, &x);
        assert_eq!(v, dot(&w, &x));
        assert_eq!(gw, x);
        assert_eq!(gx, w);

        let c = [0.1, -0.4, 0.3];
        let vv = pts(3, seed + 20);
        let (val, (gw, gx, gc, gv)) = iterate_forms_grad(&w, &x, c, vv.clone());
        assert_eq!(val, iterate_forms(&w, &x, c, vv.clone()));
        let gc: [f64; 3] = gc; // arrays keep their type
        let flat: Vec<f64> = [&w[..], &x[..], &c[..], &vv[..]].concat();
        let grads: Vec<f64> = [&gw[..], &gx[..], &gc[..], &gv[..]].concat();
        check(
            "iterate_forms",
            |p| iterate_forms(&p[0..4], &p[4..8], [p[8], p[9], p[10]], p[11..14].to_vec()),
            &flat,
            &grads,
        );
    }
}

/// Local vectors: `vec!`, `to_vec`, element writes (`=`, `+=`, `-=`, `*=`),
/// an element overwritten after it was read.
#[grad]
fn local_vectors(x: &[f64], a: f64) -> f64 {
    let n = x.len();
    let mut y = vec![0.0; n];
    let mut z = x.to_vec();
    for i in 0..n {
        y[i] = x[i] * a;
        z[i] += y[i] * y[i];
    }
    let first = z[0];
    z[0] = first.sin() * a; // overwrite an element that was read
    for i in 1..n {
        z[i] -= z[i - 1] * 0.5;
        y[i] *= z[i];
    }
    let fill = vec![a; 3];
    let mut s = first * fill[1];
    for i in 0..n {
        s += y[i] + z[i] * z[i];
    }
    s
}

#[test]
fn local_vectors_and_element_writes() {
    for seed in 1..5 {
        let x = pts(5, seed);
        let a = 0.7 + 0.1 * seed as f64;
        let (v, (gx, ga)) = local_vectors_grad(&x, a);
        assert_eq!(v.to_bits(), local_vectors(&x, a).to_bits());
        let mut flat = x.clone();
        flat.push(a);
        let mut g = gx.clone();
        g.push(ga);
        check("local_vectors", |p| local_vectors(&p[..5], p[5]), &flat, &g);
    }
}

/// Numerically stable log-sum-exp over a slice.
#[grad]
fn log_sum_exp(x: &[f64]) -> f64 {
    let mut m = x[0];
    for i in 1..x.len() {
        m = m.max(x[i]);
    }
    let mut s = 0.0;
    for xi in x {
        s += (xi - m).exp();
    }
    m + s.ln()
}

/// A scalar RNN: h_t = tanh(w h_{t-1} + u x_t + b), loss = (h_T - target)^2.
#[grad]
fn rnn(w: f64, u: f64, b: f64, xs: &[f64], target: f64) -> f64 {
    let mut h = 0.0;
    for t in 0..xs.len() {
        h = (w * h + u * xs[t] + b).tanh();
    }
    (h - target).powi(2)
}

/// Logistic regression, loops over samples and features (row-major x).
#[grad(wrt(w, b))]
fn logistic_regression(w: &[f64], b: f64, x: &[f64], y: &[f64], d: usize) -> f64 {
    let n = y.len();
    let mut loss = 0.0;
    for i in 0..n {
        let mut z = b;
        for j in 0..d {
            z += w[j] * x[i * d + j];
        }
        let p = sigmoid(z);
        loss -= y[i] * p.ln() + (1.0 - y[i]) * (1.0 - p).ln();
    }
    loss / n as f64
}

/// Gaussian log-likelihood of samples under N(mu, sigma^2).
#[grad]
fn gaussian_loglik(mu: f64, log_sigma: f64, xs: &[f64]) -> f64 {
    let sigma = log_sigma.exp();
    let mut ll = 0.0;
    for &x in xs.iter() {
        let z = (x - mu) / sigma;
        ll += -0.5 * z * z - log_sigma - 0.5 * (2.0 * std::f64::consts::PI).ln();
    }
    ll
}

#[test]
fn loop_examples_of_the_issue() {
    for seed in 1..4 {
        let x = pts(6, seed);
        let (v, g) = log_sum_exp_grad(&x);
        assert_eq!(v, log_sum_exp(&x));
        check("log_sum_exp", log_sum_exp, &x, &g);
        // Its gradient is softmax(x).
        let z: f64 = x.iter().map(|v| v.exp()).sum();
        for (gi, xi) in g.iter().zip(&x) {
            assert!((gi - xi.exp() / z).abs() < 1e-12);
        }

        let xs = pts(7, seed + 5);
        let (v, (gw, gu, gb, gxs, gt)) = rnn_grad(0.5, -0.3, 0.1, &xs, 0.2);
        assert_eq!(v, rnn(0.5, -0.3, 0.1, &xs, 0.2));
        let mut flat = vec![0.5, -0.3, 0.1];
        flat.extend(&xs);
        flat.push(0.2);
        let mut g = vec![gw, gu, gb];
        g.extend(&gxs);
        g.push(gt);
        check(
            "rnn",
            |p| rnn(p[0], p[1], p[2], &p[3..10], p[10]),
            &flat,
            &g,
        );

        let (d, n) = (3, 5);
        let xm = pts(n * d, seed + 7);
        let y: Vec<f64> = pts(n, seed + 9)
            .iter()
            .map(|v| if *v > 0.0 { 1.0 } else { 0.0 })
            .collect();
        let w = pts(d, seed + 11);
        let (v, (gw, gb)) = logistic_regression_grad(&w, 0.1, &xm, &y, d);
        assert_eq!(v, logistic_regression(&w, 0.1, &xm, &y, d));
        let mut flat = w.clone();
        flat.push(0.1);
        let mut g = gw.clone();
        g.push(gb);
        check(
            "logistic_regression",
            |p| logistic_regression(&p[..3], p[3], &xm, &y, d),
            &flat,
            &g,
        );

        let xs = pts(8, seed + 13);
        let (v, (gm, gs, gx)) = gaussian_loglik_grad(0.2, -0.3, &xs);
        assert_eq!(v, gaussian_loglik(0.2, -0.3, &xs));
        let mut flat = vec![0.2, -0.3];
        flat.extend(&xs);
        let mut g = vec![gm, gs];
        g.extend(&gx);
        check(
            "gaussian_loglik",
            |p| gaussian_loglik(p[0], p[1], &p[2..]),
            &flat,
            &g,
        );
    }
}

#[grad]
fn square(x: f64) -> f64 {
    x * x
}

#[grad]
fn scaled(x: f64, k: f64, n: i32) -> f64 {
    x.powi(n) * k
}

#[grad]
fn caller(x: f64, y: f64) -> f64 {
    let a = square(x) + scaled(y, x, 3);
    let mut s = 0.0;
    for i in 0..3 {
        if i % 2 == 0 {
            s += square(a * (i as f64 + 1.0));
        } else {
            s += scaled(x, 2.0, i); // constant arguments
        }
    }
    s + norm2(&[x, y])
}

#[grad]
fn norm2(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for x in v {
        s += x * x;
    }
    s.sqrt()
}

#[grad]
fn power(x: f64, n: u32) -> f64 {
    if n == 0 {
        1.0
    } else {
        x * power(x, n - 1)
    }
}

#[test]
fn calls_between_grad_functions() {
    for p in [[0.3, 0.7], [-1.2, 0.4], [0.9, -1.3]] {
        let (v, (gx, gy)) = caller_grad(p[0], p[1]);
        assert_eq!(v, caller(p[0], p[1]));
        check("caller", |q| caller(q[0], q[1]), &p, &[gx, gy]);
    }
    for n in 0..6 {
        let (v, g) = power_grad(1.3, n);
        assert_eq!(v, power(1.3, n));
        assert!((g - n as f64 * 1.3f64.powi(n as i32 - 1)).abs() < 1e-12); // recursion
    }
}

/// Calls whose reverse runs in their own scope: at the top level, and at the
/// top of a loop whose reverse runs each iteration (a fused loop). Each takes
/// the callee's gradient at cotangent 1 with its value and scales it.
#[grad]
fn kept_callee_gradients(x: &[f64], w: f64) -> f64 {
    let a = norm2(x) * w;
    let mut s = 0.0;
    for i in 0..x.len() {
        let y = [x[i], w, a];
        s += log_sum_exp(&y) * x[i];
    }
    let b = scaled(a, w, 2);
    s - b
}

/// The same functions called where their reverse runs later: in a loop
/// that is not fused (`t` is carried), and in a branch.
#[grad]
fn calls_of_kept(x: &[f64], w: f64) -> f64 {
    let mut t = w;
    for _ in 0..2 {
        t = kept_callee_gradients(x, t) * 0.1;
    }
    if t > 0.0 {
        t = t + kept_callee_gradients(x, w * t);
    }
    t + kept_callee_gradients(x, 0.5)
}

#[test]
fn callee_gradients_kept_from_the_forward_pass() {
    // Vector arguments: the gradient at cotangent 1 into the call's scratch
    // buffer (`f_vjp_into`), added in the reverse scaled by the cotangent.
    for name in [
        "norm2_vjp_into(x, 1.0,",
        "log_sum_exp_vjp_into(&y, 1.0,",
        "scaled_grad_vjp(a, w, 2)",
    ] {
        assert!(KEPT_CALLEE_GRADIENTS_GRAD_SOURCE.contains(name), "{name}");
    }
    assert_eq!(
        KEPT_CALLEE_GRADIENTS_GRAD_SOURCE
            .matches("accumulate_scaled(")
            .count(),
        2
    );
    assert!(!KEPT_CALLEE_GRADIENTS_GRAD_SOURCE.contains("_vjp(x, "));
    // The loop, with its array declared in the body, is fused.
    assert!(KEPT_CALLEE_GRADIENTS_GRAD_SOURCE.contains("fused_grad_s"));
    // Only the last, top-level call keeps its gradient (into a scratch
    // buffer); the others add theirs into `x`'s adjoint in the reverse.
    assert_eq!(CALLS_OF_KEPT_GRAD_SOURCE.matches("zeroed_for(").count(), 1);
    assert_eq!(
        CALLS_OF_KEPT_GRAD_SOURCE
            .matches("kept_callee_gradients_vjp_into(")
            .count(),
        3
    );
    assert_eq!(
        CALLS_OF_KEPT_GRAD_SOURCE
            .matches("(&mut grad_x[..], ())")
            .count(),
        2
    );
    for seed in 0..8 {
        let p = pts(5, 40 + seed);
        let (x, w) = (&p[..4], p[4]);
        let (v, (gx, gw)) = kept_callee_gradients_grad(x, w);
        assert_eq!(v, kept_callee_gradients(x, w));
        let g: Vec<f64> = gx.iter().copied().chain([gw]).collect();
        check("kept", |q| kept_callee_gradients(&q[..4], q[4]), &p, &g);
        // Scaled by the cotangent, not taken at 1.
        let (px, pw) = kept_callee_gradients_pullback(x, w, -1.75);
        for (a, b) in px.iter().chain([&pw]).zip(&g) {
            assert!(
                (a + 1.75 * b).abs() <= 1e-12 * b.abs().max(1.0),
                "{a} vs {b}"
            );
        }
        let (v, (gx, gw)) = calls_of_kept_grad(x, w);
        assert_eq!(v, calls_of_kept(x, w));
        let g: Vec<f64> = gx.iter().copied().chain([gw]).collect();
        check("calls_of_kept", |q| calls_of_kept(&q[..4], q[4]), &p, &g);
    }
}

/// Regression: accumulators initialised from float constants (`0.0`,
/// `f64::NEG_INFINITY`) inside loops once lost their gradient entirely.
#[grad(wrt(mu, log_s, log_w))]
fn gmm1d(mu: &[f64], log_s: &[f64], log_w: &[f64], xs: &[f64]) -> f64 {
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

#[test]
fn mixture_log_likelihood_with_constant_initialised_accumulators() {
    let (mu, ls, lw) = (
        vec![-1.0, -0.3, 0.2],
        vec![-0.5, 0.1, -0.2],
        vec![0.1, -0.4, 0.3],
    );
    let xs = pts(6, 3);
    let (v, (g1, g2, g3)) = gmm1d_grad(&mu, &ls, &lw, &xs);
    assert_eq!(v, gmm1d(&mu, &ls, &lw, &xs));
    let flat: Vec<f64> = [&mu[..], &ls[..], &lw[..]].concat();
    let g: Vec<f64> = [&g1[..], &g2[..], &g3[..]].concat();
    check(
        "gmm1d",
        |p| gmm1d(&p[0..3], &p[3..6], &p[6..9], &xs),
        &flat,
        &g,
    );
}

#[test]
fn snapshot_of_a_slice_loop() {
    common::snapshot("dot", DOT_GRAD_SOURCE);
    common::snapshot("log_sum_exp_loop", LOG_SUM_EXP_GRAD_SOURCE);
}

/// `[value; N]` local arrays with element writes (ADBench's bundle
/// adjustment writes small rotation and projection arrays this way).
#[grad]
fn small_arrays(x: &[f64], a: f64) -> f64 {
    let mut p = [0.0; 3];
    for i in 0..3 {
        p[i] = x[i] * a;
    }
    let mut q = [a; 2];
    q[1] *= p[2];
    p[0] * p[1] + q[0] * q[1]
}

#[test]
fn small_local_arrays() {
    let x = [0.3, -0.7, 1.1];
    let (v, (gx, ga)) = small_arrays_grad(&x, 0.8);
    assert_eq!(v, small_arrays(&x, 0.8));
    let mut flat = x.to_vec();
    flat.push(0.8);
    let mut g = gx.clone();
    g.push(ga);
    check("small_arrays", |p| small_arrays(&p[..3], p[3]), &flat, &g);
}

/// `x.iter().sum()`, the idiom for totals.
#[grad]
fn sums(x: &[f64], w: f64) -> f64 {
    let s: f64 = x.iter().sum();
    let mut y = x.to_vec();
    y[0] *= w;
    let t = y.iter().copied().sum::<f64>() * w;
    s * t
}

#[test]
fn iterator_sums() {
    let x = [0.3, -0.7, 1.1];
    let (v, (gx, gw)) = sums_grad(&x, 0.8);
    assert_eq!(v, sums(&x, 0.8));
    let mut flat = x.to_vec();
    flat.push(0.8);
    let mut g = gx.clone();
    g.push(gw);
    check("sums", |p| sums(&p[..3], p[3]), &flat, &g);
}

/// A carried integer index (`li += 1`, ADBench's `Qtimesx`): undone in the
/// reverse sweep (`li = li - 1`) rather than taped; `lj -= 1` likewise.
#[grad(wrt(l, x))]
fn triangular(l: &[f64], x: &[f64], d: usize) -> f64 {
    let mut y = x.to_vec();
    let mut li = 0;
    let mut lj = l.len();
    for i in 0..d {
        for j in i + 1..d {
            y[j] += l[li] * x[i] - 0.1 * l[lj - 1];
            li += 1;
            lj -= 1;
        }
    }
    let mut s = 0.0;
    for v in &y {
        s += v * v;
    }
    s
}

#[test]
fn carried_integer_indices() {
    let d = 4;
    let l = pts(d * (d - 1) / 2, 21);
    let x = pts(d, 22);
    let (v, (gl, gx)) = triangular_grad(&l, &x, d);
    assert_eq!(v, triangular(&l, &x, d));
    let n = l.len();
    let flat: Vec<f64> = [&l[..], &x[..]].concat();
    let g: Vec<f64> = [&gl[..], &gx[..]].concat();
    check("triangular", |p| triangular(&p[..n], &p[n..], d), &flat, &g);
    assert!(
        !TRIANGULAR_GRAD_SOURCE.contains("tape_li"),
        "{TRIANGULAR_GRAD_SOURCE}"
    );
}

/// Repeated element reads share one value (`y[i] * y[i]`), but not across a
/// write of the element, of the vector or of the index.
#[grad]
fn rereads(x: &[f64]) -> f64 {
    let mut y = x.to_vec();
    let mut s = 0.0;
    for i in 0..y.len() {
        let a = y[i] * y[i];
        y[i] = a + 0.5 * y[i];
        s += y[i] * y[i] + a * x[i] * x[i];
        let mut j = i;
        let b = y[j] * 2.0;
        j = (j + 1) % y.len();
        s += b * y[j] + y[j];
    }
    s
}

#[test]
fn repeated_element_reads() {
    for seed in 1..6 {
        let x = pts(5, seed);
        let (v, g) = rereads_grad(&x);
        assert_eq!(v.to_bits(), rereads(&x).to_bits());
        check("rereads", rereads, &x, &g);
    }
}

/// A scratch vector each iteration overwrites whole (`xc[j] = ...` for
/// every `j` of the range, nothing else in that loop touching `xc`) is saved
/// as one slice before the loop and copied back after its reverse. The
/// function also reads the scratch values from before the loop (a value
/// set before it, read after the reverse puts it back), overwrites only a
/// part of it (`lo..=hi`, reversed, empty for some points), and keeps a
/// per-element save where the loop also reads the vector.
#[grad]
fn scratch_rows(x: &[f64], mu: &[f64], k: usize) -> f64 {
    let d = mu.len() / k;
    let mut xc = vec![0.0; d];
    for j in 0..d {
        xc[j] = x[j] * 0.5;
    }
    let first = xc[0] * xc[d - 1];
    let mut s = 0.0;
    let mut tail = vec![1.0; d];
    for p in 0..x.len() / d {
        for c in 0..k {
            for j in 0..d {
                xc[j] = x[p * d + j] - mu[c * d + j];
            }
            let mut q = 0.0;
            for j in 0..d {
                q += xc[j] * xc[j] * (j as f64 + 1.0);
            }
            s += (-q).exp();
        }
        let lo = p % d;
        let hi = d - 1;
        for j in (lo..=hi).rev() {
            tail[j] = (x[p * d + j] * tail[j]).sin();
        }
        for j in lo + 1..hi {
            xc[j] = tail[j] * s;
        }
        s += xc[d / 2] * tail[lo];
    }
    s * first + xc[0]
}

#[test]
fn whole_slice_saves() {
    let (d, k) = (3, 2);
    for seed in 1..6 {
        let x = pts(4 * d, seed);
        let mu = pts(k * d, seed + 10);
        let (v, (gx, gmu)) = scratch_rows_grad(&x, &mu, k);
        assert_eq!(v.to_bits(), scratch_rows(&x, &mu, k).to_bits());
        let n = x.len();
        let flat: Vec<f64> = [&x[..], &mu[..]].concat();
        let g: Vec<f64> = [&gx[..], &gmu[..]].concat();
        check(
            "scratch_rows",
            |p| scratch_rows(&p[..n], &p[n..], k),
            &flat,
            &g,
        );
    }
    // The point loop's scratch row is saved whole; `tail`, which its loop
    // reads, element by element.
    let src = SCRATCH_ROWS_GRAD_SOURCE;
    assert!(
        src.contains("tape_xc_elem.extend_from_slice(&xc[0..d])"),
        "{src}"
    );
    assert!(
        src.contains("push_reserved(&mut tape_tail_elem, tail[j"),
        "{src}"
    );
}

/// A vector a loop overwrites whole right after its declaration keeps no
/// save: the declaration's elements are never read back. Declared again in
/// each iteration of an outer loop and read after the inner loop, by a
/// product (the outer loop's reverse runs after it) and by a sum (fused),
/// each iteration's values still come back for its reverse.
#[grad]
fn fresh_rows(x: &[f64], d: usize) -> f64 {
    let mut first = [0.0; 3];
    for i in 0..3 {
        first[i] = x[i] * x[i];
    }
    let mut p = 1.0;
    for r in 0..x.len() / d {
        let mut row = vec![0.0; d];
        for j in 0..d {
            row[j] = (x[r * d + j] * first[j % 3]).sin();
        }
        p *= 1.0 + row[0] * row[d - 1];
    }
    let mut s = 0.0;
    for r in 0..x.len() / d {
        let mut row = vec![0.0; d];
        for j in 0..d {
            row[j] = (x[r * d + j] + first[j % 3]).cos();
        }
        s += row[0] * row[d / 2];
    }
    p + s * first[1]
}

#[test]
fn vectors_overwritten_right_after_their_declaration_keep_no_save() {
    let src = FRESH_ROWS_GRAD_SOURCE;
    for saved in ["tape_first_elem", "tape_row_elem", "extend_from_slice(&row"] {
        assert!(!src.contains(saved), "{saved}\n{src}");
    }
    for (n, d) in [(3, 3), (6, 3), (12, 4), (10, 5)] {
        for seed in 0..3 {
            let x = pts(n, 200 + seed + n as u64);
            let (v, g) = fresh_rows_grad(&x, d);
            assert_eq!(v.to_bits(), fresh_rows(&x, d).to_bits());
            check("fresh_rows", |p| fresh_rows(p, d), &x, &g);
        }
    }
}
