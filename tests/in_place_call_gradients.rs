//! Calls whose vector gradients go straight into the caller's adjoint
//! (`f_vjp_into`): borrowed slices, `Vec`s and arrays (the callee's adjoint
//! is the caller's), arrays passed by value (added at the end), sub-slices, a
//! vector passed twice (which keeps `f_vjp`: two mutable borrows of one
//! adjoint), `#[custom_grad]` callees, `f32`, and each both where the call's
//! reverse runs later (a loop carrying a value) and where its gradient is
//! taken in the forward pass (top level, a fused loop). Owned values passed
//! by value (`f(v)` with `v: Vec<f64>`, a `Vec<usize>` of indices), which the
//! gradient code passes as clones. Constant vectors beside active ones, for
//! which the caller passes no destination (`()`). Each gradient is checked against central
//! differences and each value bit for bit.

#![allow(clippy::needless_range_loop, clippy::useless_vec, clippy::ptr_arg)]

use autodiff::{custom_grad, grad};

mod common;
use common::{check_at as check, points as pts};

#[grad]
fn dot_owned(a: &Vec<f64>, b: [f64; 3]) -> f64 {
    let mut s = 0.0;
    for i in 0..3 {
        s += a[i] * b[i] * b[i];
    }
    s
}

#[grad]
fn weighted(v: &[f64; 3], w: f64) -> f64 {
    (v[0] * w).sin() + v[1] * v[2] * w
}

#[grad]
fn pair(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i] * b[i];
    }
    s
}

fn cube_sum(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x * x).sum()
}

fn cube_sum_rule(v: &[f64], _y: f64, c: f64) -> Vec<f64> {
    v.iter().map(|x| 3.0 * x * x * c).collect()
}

#[custom_grad(cube_sum_rule)]
fn cubes(v: &[f64]) -> f64 {
    cube_sum(v)
}

#[grad]
fn norm32(v: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s.sqrt()
}

#[grad]
fn sumsq(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

/// The two ways, small enough to read (snapshot `in_place_calls`).
#[grad]
fn in_place_calls(x: &[f64], w: f64) -> f64 {
    let a = sumsq(x) * w;
    let mut t = a;
    for i in 0..2 {
        t = t * sumsq(&x[i..i + 2]) + w;
    }
    t
}

/// Every callee at the top level (gradients into scratch buffers) and in a
/// loop that carries `t` (gradients added in the reverse, in place).
#[grad]
fn callers(x: &[f64], w: f64) -> f64 {
    let a = vec![x[0], x[1], x[2]];
    let b = [x[3], w, x[1]];
    let top = dot_owned(&a, b) + weighted(&b, w) + pair(&x[1..4], &b) + cubes(&x[2..]);
    let mut t = top * 0.1;
    for i in 0..3 {
        let c = [x[i], t, w];
        let d = vec![x[i + 1], x[i], t];
        t = 0.3 * t + 0.1 * weighted(&c, t) + 0.05 * dot_owned(&d, c);
        t += 0.02 * pair(&x[i..i + 2], &c[1..]) + 0.01 * cubes(&x[i..=i + 1]);
    }
    t
}

/// Differentiates `a` only: a caller must pass `()` for `b`'s destination.
#[grad(wrt(a))]
fn dot_wrt_a(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// Constant vectors (`c`, `k`, an array of constants) beside active ones,
/// into callees that differentiate them (`pair`, `dot_owned`: the caller
/// passes `()` and the callee runs into a scratch buffer) or leave them out
/// (`dot_wrt_a`), at the top level and in a loop carrying `t`.
#[grad(wrt(x))]
fn constant_vector_args(x: &[f64], c: &[f64]) -> f64 {
    let k = vec![0.5, -1.0, 2.0];
    let top = pair(x, c) + dot_wrt_a(&x[..3], &k) + dot_owned(&k, [1.0, 2.0, 3.0]);
    let mut t = top * 0.1;
    for i in 0..2 {
        t = t * 0.7 + pair(&c[i..i + 2], &x[i..i + 2]) + dot_wrt_a(&x[i + 1..], &c[i + 1..]);
        t += 0.1 * dot_owned(&k, [x[i], t, 1.0]);
    }
    t
}

#[grad(wrt(x))]
fn constant_vector_args32(x: &[f32], c: &[f32]) -> f32 {
    let mut t = 0.0;
    for i in 0..2 {
        t = t * 0.5 + norm32(&x[i..i + 2]) * pair32(&x[i..], c);
    }
    t
}

#[grad]
fn pair32(a: &[f32], b: &[f32]) -> f32 {
    a[0] * b[0] + a[1] * b[1]
}

/// One vector passed twice, whole and as overlapping parts: `f_vjp`.
#[grad]
fn twice(x: &[f64]) -> f64 {
    let mut t = 1.0;
    for _ in 0..2 {
        t = t * 0.5 + pair(x, x) * 0.1 + pair(&x[0..2], &x[1..3]);
    }
    t + pair(&x[1..], &x[1..])
}

/// `f32` vectors, in a fused loop (split) and a carried one.
#[grad]
fn callers32(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..2 {
        s += norm32(&x[i..i + 2]);
    }
    let mut t = s;
    for i in 0..2 {
        t *= norm32(&x[i + 1..]);
    }
    t
}

/// Takes its vector by value: the caller's call moves it.
#[grad]
fn owned_cubic(v: Vec<f64>) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i] * v[0];
    }
    s
}

/// A constant owned argument: indices into `x`.
#[grad(wrt(x))]
fn gather_squares(x: &[f64], idx: Vec<usize>) -> f64 {
    let mut s = 0.0;
    for i in 0..idx.len() {
        s += x[idx[i]] * x[idx[i]];
    }
    s
}

/// Owned vectors moved into calls: a `to_vec()` bound and passed, one made
/// inline, an annotated one in nested loops (whose reverse calls the callee
/// again), and a `Vec<usize>` of indices built in the loop.
#[grad]
fn moved_args(x: &[f64]) -> f64 {
    let v = x.to_vec();
    let a = owned_cubic(v);
    let b = owned_cubic(x.to_vec());
    let mut s = a.sin() * b;
    for r in 0..2 {
        for j in 0..2 {
            let w: Vec<f64> = vec![x[r], x[j + 1], s];
            let idx = vec![r, j, j + 1];
            s = s * 0.5 + owned_cubic(w).sin() * gather_squares(x, idx);
        }
    }
    s
}

/// Neither `Copy` nor `Clone`: a call made once moves it as written.
pub struct Scale(f64);

fn make_scale(k: f64) -> Scale {
    Scale(k)
}

fn factor(s: Scale) -> f64 {
    s.0
}

#[grad(wrt(x))]
fn scaled_square(x: f64, s: Scale) -> f64 {
    x * x * factor(s)
}

/// At the top level the call takes its gradient in the forward pass and is
/// made once, so `s` is moved, not cloned (`Scale` is not `Clone`).
#[grad]
fn moves_once(x: f64) -> f64 {
    let s = make_scale(1.5);
    scaled_square(x, s) + x.sin()
}

#[test]
fn owned_arguments_moved_into_calls_are_cloned() {
    // Bound and inline `Vec`s, annotated or not, and a `Vec<usize>`; the
    // slice `x` and the index `r` go through as written.
    for arg in ["&v)", "&t0)", "&w)", "&idx)"] {
        let cloned = format!("::core::clone::Clone::clone({arg}");
        assert!(MOVED_ARGS_GRAD_SOURCE.contains(&cloned), "{cloned}");
    }
    assert!(!MOVED_ARGS_GRAD_SOURCE.contains("clone(&x)"));
    assert!(!MOVED_ARGS_GRAD_SOURCE.contains("clone(&r)"));
    assert!(MOVES_ONCE_GRAD_SOURCE.contains("scaled_square_grad_vjp(x, s)"));
    for x in [-1.3, 0.2, 0.9] {
        let (v, g) = moves_once_grad(x);
        assert_eq!(v.to_bits(), moves_once(x).to_bits());
        check("moves_once", |q| moves_once(q[0]), &[x], &[g]);
    }
    for seed in 0..8 {
        let x = pts(3, 210 + seed);
        let (v, g) = moved_args_grad(&x);
        assert_eq!(v.to_bits(), moved_args(&x).to_bits());
        check("moved_args", moved_args, &x, &g);
        let (v, g) = owned_cubic_grad(x.clone());
        assert_eq!(v.to_bits(), owned_cubic(x.clone()).to_bits());
        check("owned_cubic", |q| owned_cubic(q.to_vec()), &x, &g);
    }
}

#[test]
fn vector_gradients_are_added_in_place() {
    // The gradients of vectors go through `f_vjp_into`; scalars' entries
    // come back from it.
    for name in [
        "dot_owned_vjp_into(",
        "weighted_vjp_into(",
        "pair_vjp_into(",
        "cubes_vjp_into(",
        "zeroed_for(",
        "accumulate_scaled(",
    ] {
        assert!(CALLERS_GRAD_SOURCE.contains(name), "{name}");
    }
    assert!(!CALLERS_GRAD_SOURCE.contains("_vjp("));
    assert!(!CALLERS_GRAD_SOURCE.contains("_grad_vjp("));
    for seed in 0..8 {
        let p = pts(6, 90 + seed);
        let (x, w) = (&p[..5], p[5]);
        let (v, (gx, gw)) = callers_grad(x, w);
        assert_eq!(v.to_bits(), callers(x, w).to_bits());
        let mut g = gx.clone();
        g.push(gw);
        check("callers", |q| callers(&q[..5], q[5]), &p, &g);
        let (px, pw) = callers_pullback(x, w, -1.5);
        for (a, b) in px.iter().chain([&pw]).zip(g.iter()) {
            assert!((a + 1.5 * b).abs() <= 1e-13 * b.abs().max(1.0), "{a} {b}");
        }
    }
}

#[test]
fn snapshot_of_in_place_calls() {
    common::snapshot("in_place_calls", IN_PLACE_CALLS_GRAD_SOURCE);
    for seed in 0..8 {
        let p = pts(5, 170 + seed);
        let (x, w) = (&p[..4], p[4]);
        let (v, (gx, gw)) = in_place_calls_grad(x, w);
        assert_eq!(v.to_bits(), in_place_calls(x, w).to_bits());
        let mut g = gx.clone();
        g.push(gw);
        check("in_place_calls", |q| in_place_calls(&q[..4], q[4]), &p, &g);
    }
}

#[test]
fn constant_vector_arguments_pass_no_destination() {
    // `()` where the callee would add a gradient nobody wants: before, a
    // constant vector beside an active one did not compile (`expected
    // &mut [f64], found ()`).
    for name in [
        "pair_vjp_into(",
        "dot_wrt_a_vjp_into(",
        "dot_owned_vjp_into(",
    ] {
        assert!(CONSTANT_VECTOR_ARGS_GRAD_SOURCE.contains(name), "{name}");
    }
    assert!(!CONSTANT_VECTOR_ARGS_GRAD_SOURCE.contains("_vjp("));
    for seed in 0..8 {
        let p = pts(8, 210 + seed);
        let (x, c) = (&p[..4], &p[4..]);
        let (v, g) = constant_vector_args_grad(x, c);
        assert_eq!(v.to_bits(), constant_vector_args(x, c).to_bits());
        check(
            "constant_vector_args",
            |q| constant_vector_args(q, c),
            x,
            &g,
        );
    }
    for seed in 0..8 {
        let p: Vec<f64> = pts(6, 230 + seed).iter().map(|v| v + 1.5).collect();
        let x: Vec<f32> = p[..3].iter().map(|&v| v as f32).collect();
        let c: Vec<f32> = p[3..5].iter().map(|&v| v as f32).collect();
        let (v, gx) = constant_vector_args32_grad(&x, &c);
        assert_eq!(v.to_bits(), constant_vector_args32(&x, &c).to_bits());
        check_f32_coarse(|q| constant_vector_args32(q, &c), &x, &gx);
    }
}

#[test]
fn a_vector_passed_twice_keeps_the_returned_gradients() {
    assert!(TWICE_GRAD_SOURCE.contains("pair_vjp("));
    assert!(!TWICE_GRAD_SOURCE.contains("pair_vjp_into("));
    for seed in 0..8 {
        let x = pts(4, 130 + seed);
        let (v, g) = twice_grad(&x);
        assert_eq!(v.to_bits(), twice(&x).to_bits());
        check("twice", twice, &x, &g);
    }
}

#[test]
fn f32_vectors_are_added_in_place() {
    assert!(CALLERS32_GRAD_SOURCE.contains("norm32_vjp_into("));
    for seed in 0..8 {
        let x: Vec<f32> = pts(3, 150 + seed)
            .iter()
            .map(|&v| (v + 2.0) as f32)
            .collect();
        let (v, g) = callers32_grad(&x);
        assert_eq!(v.to_bits(), callers32(&x).to_bits());
        check_f32_coarse(callers32, &x, &g);
    }
}

/// `g`, the gradient of an `f32` function with no `f64` twin, against its
/// own central differences at step 1e-2: in f32 they resolve about three
/// digits, so each entry must agree to 2e-2 relative (absolute below 1).
fn check_f32_coarse(f: impl Fn(&[f32]) -> f32, x: &[f32], g: &[f32]) {
    let h = 1e-2;
    let at = |q: &[f64]| {
        let q: Vec<f32> = q.iter().map(|&v| v as f32).collect();
        f(&q) as f64
    };
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    for i in 0..x.len() {
        let (mut up, mut dn) = (x64.clone(), x64.clone());
        up[i] += h;
        dn[i] -= h;
        let fd = (at(&up) - at(&dn)) / (2.0 * h);
        let gi = g[i] as f64;
        assert!(
            (fd - gi).abs() <= 2e-2 * fd.abs().max(1.0),
            "x[{i}]: {fd} vs {gi}"
        );
    }
}
