//! Output parameters: `#[grad] fn h(x: &[f64], out: &mut [f64])`, and
//! callers that write a vector through one, `h(x, &mut v);`. ADBench's C++
//! helpers are written this way (`Qtimesx`, `subtract`). Every gradient is
//! checked against central differences (values bit for bit), through a
//! scalar caller and through the generated `h_pullback`, whose result for a
//! cotangent `w` is the gradient of `⟨w, out_final⟩`.

#![allow(clippy::needless_range_loop)]

use autodiff::grad;

mod common;
use common::{check_at as check, points as pts};

/// ADBench's `Qtimesx`: `out = Q·x` with `Q` lower triangular, its diagonal
/// `qdiag`, the rest packed column by column in `ltri`.
#[grad]
fn qtimesx(qdiag: &[f64], ltri: &[f64], x: &[f64], out: &mut [f64]) {
    let d = x.len();
    for i in 0..d {
        out[i] = qdiag[i] * x[i];
    }
    let mut li = 0;
    for i in 0..d {
        for j in i + 1..d {
            out[j] += ltri[li] * x[i];
            li += 1;
        }
    }
}

/// ADBench's `subtract`.
#[grad]
fn subtract(x: &[f64], y: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] = x[i] - y[i];
    }
}

#[grad]
fn sqnorm(v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..v.len() {
        s += v[i] * v[i];
    }
    s
}

/// One component of ADBench's GMM inner loop, written with its helpers.
#[grad]
fn mahalanobis(x: &[f64], mu: &[f64], qdiag: &[f64], ltri: &[f64]) -> f64 {
    let d = x.len();
    let mut xc = vec![0.0; d];
    let mut qxc = vec![0.0; d];
    subtract(x, mu, &mut xc);
    qtimesx(qdiag, ltri, &xc, &mut qxc);
    0.5 * sqnorm(&qxc)
}

fn mahalanobis_flat(z: &[f64]) -> f64 {
    mahalanobis(&z[0..4], &z[4..8], &z[8..12], &z[12..18])
}

#[test]
fn adbench_helpers_through_a_caller() {
    for seed in 0..8 {
        let z = pts(18, 100 + seed);
        let (v, (gx, gmu, gq, gl)) = mahalanobis_grad(&z[0..4], &z[4..8], &z[8..12], &z[12..18]);
        assert_eq!(v.to_bits(), mahalanobis_flat(&z).to_bits());
        let g: Vec<f64> = [gx, gmu, gq, gl].concat();
        check("mahalanobis", mahalanobis_flat, &z, &g);
    }
}

/// `out` read as well as written (`+=`): the pullback's entry for `out` is
/// the gradient with respect to its initial contents.
#[grad]
fn axpy(a: f64, x: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] += a * x[i];
    }
    out[0] *= out[out.len() - 1];
}

#[test]
fn pullback_is_the_gradient_of_the_cotangent_dot_product() {
    for seed in 0..8 {
        // a, x (3), out (3), w (3)
        let z = pts(10, 200 + seed);
        let (a, x, out0, w) = (z[0], &z[1..4], &z[4..7], &z[7..10]);
        let dot = |p: &[f64]| {
            let mut out = p[4..7].to_vec();
            axpy(p[0], &p[1..4], &mut out);
            out.iter().zip(w).map(|(o, w)| o * w).sum::<f64>()
        };
        let (ga, gx, gout) = axpy_pullback(a, x, out0, w);
        let g: Vec<f64> = [vec![ga], gx, gout].concat();
        check("axpy", dot, &z[..7], &g);
    }
    let z = pts(20, 7);
    let w = &z[14..18];
    let dot = |p: &[f64]| {
        let mut out = [0.0; 4];
        qtimesx(&p[0..4], &p[4..10], &p[10..14], &mut out);
        out.iter().zip(w).map(|(o, w)| o * w).sum::<f64>()
    };
    let (gq, gl, gx, gout) = qtimesx_pullback(&z[0..4], &z[4..10], &z[10..14], &[9.0; 4], w);
    assert_eq!(
        gout,
        vec![0.0; 4],
        "qtimesx overwrites out without reading it"
    );
    check("qtimesx", dot, &z[..14], &[gq, gl, gx].concat());
}

#[test]
#[should_panic(
    expected = "axpy_pullback: the cotangent has 2 elements, but `out` has 3: pass one per element of `out`"
)]
fn pullback_rejects_a_cotangent_of_the_wrong_length() {
    axpy_pullback(1.0, &[1.0; 3], &[0.0; 3], &[1.0; 2]);
}

/// An output parameter passed on by name, a local written by a call, an
/// early `return;`, and calls writing into `out` in a loop and a branch.
#[grad]
fn layer(m: &[f64], b: &[f64], x: &[f64], out: &mut [f64]) {
    let n = out.len();
    let mut tmp = vec![0.0; n];
    for i in 0..n {
        for j in 0..x.len() {
            tmp[i] += m[i * x.len() + j] * x[j];
        }
    }
    subtract(&tmp, b, out);
    if x[0] > 0.5 {
        return;
    }
    for k in 0..2 {
        axpy(0.5 + k as f64, &tmp, out);
        if out[0] > 0.0 {
            out[1] = out[1].tanh();
        }
    }
}

#[grad]
fn two_layers(m: &[f64], b: &[f64], x: &[f64]) -> f64 {
    let mut h = [0.0; 2];
    layer(m, b, x, &mut h);
    let mut y = vec![0.0; 2];
    layer(m, b, &h, &mut y);
    // Written again from its own copy: the old `y` is saved for the reverse.
    let y0 = y.clone();
    layer(m, b, &y0, &mut y);
    axpy(h[0], &h, &mut y);
    y[0] * y[1] + sqnorm(&y)
}

fn two_layers_flat(z: &[f64]) -> f64 {
    two_layers(&z[0..4], &z[4..6], &z[6..8])
}

#[test]
fn nested_writers_early_return_loops_and_branches() {
    let mut returned = 0;
    for seed in 0..16 {
        let z = pts(8, 300 + seed);
        returned += usize::from(z[6] > 0.5);
        let (v, (gm, gb, gx)) = two_layers_grad(&z[0..4], &z[4..6], &z[6..8]);
        assert_eq!(v.to_bits(), two_layers_flat(&z).to_bits());
        check("two_layers", two_layers_flat, &z, &[gm, gb, gx].concat());
    }
    assert!(returned > 0 && returned < 16, "both paths of `return;`");
}

/// A vector written by a call in every iteration of a loop, read in between:
/// each call's old contents come back in the reverse.
#[grad]
fn iterate(c: f64, x: &[f64]) -> f64 {
    let mut v = x.to_vec();
    let mut s = 0.0;
    let mut k = 0;
    while k < 4 {
        axpy(c, x, &mut v);
        v[k % 3] = v[k % 3].sin();
        s += v[1] * v[2];
        if s > 10.0 {
            break;
        }
        k += 1;
    }
    let mut w = vec![0.0; 3];
    if c > 0.0 {
        subtract(&v, x, &mut w);
    } else {
        qtimesx(x, &v, &v, &mut w);
    }
    s + sqnorm(&w)
}

#[test]
fn written_in_loops_and_branches() {
    let f = |z: &[f64]| iterate(z[0], &z[1..]);
    for seed in 0..12 {
        let z = pts(4, 400 + seed);
        let (v, (gc, gx)) = iterate_grad(z[0], &z[1..]);
        assert_eq!(v.to_bits(), f(&z).to_bits());
        check("iterate", f, &z, &[vec![gc], gx].concat());
    }
}

fn fill_indices(n: usize, idx: &mut Vec<usize>) {
    idx.clear();
    idx.extend((0..n).rev());
}

fn fill_data(v: &mut [f64]) {
    for (i, e) in v.iter_mut().enumerate() {
        *e = 0.25 * i as f64;
    }
}

fn bump(a: f64, s: &mut f64) {
    *s += a;
}

/// Plain functions writing into values the gradient does not flow through:
/// an index vector, a vector of data, a number.
#[grad]
fn gather(x: &[f64]) -> f64 {
    let mut idx = Vec::new();
    fill_indices(x.len(), &mut idx);
    let mut data = vec![0.0; x.len()];
    fill_data(&mut data);
    let mut s = 0.0;
    bump(0.5, &mut s);
    let mut acc = vec![0.0; x.len()];
    fill_data(&mut acc);
    for i in 0..x.len() {
        s += x[idx[i]] * data[i] * x[i];
        acc[i] += x[i].sin();
    }
    s * acc[1] + acc[2]
}

#[test]
fn plain_functions_writing_constants() {
    for seed in 0..4 {
        let x = pts(5, 500 + seed);
        let (v, g) = gather_grad(&x);
        assert_eq!(v.to_bits(), gather(&x).to_bits());
        check("gather", gather, &x, &g);
    }
}

/// `wrt` narrows an output function's gradient like any other's: here the
/// initial contents of `out` are not differentiated.
#[grad(wrt(x))]
fn scale_into(k: f64, x: &[f64], out: &mut [f64]) {
    for i in 0..x.len() {
        out[i] = k * x[i] * x[i];
    }
}

#[grad]
fn scaled(x: &[f64]) -> f64 {
    let mut v = vec![0.0; x.len()];
    scale_into(3.0, x, &mut v);
    v[0] - v[1]
}

#[test]
fn wrt_on_an_output_function() {
    let x = [0.5, -2.0];
    let gx = scale_into_pullback(3.0, &x, &[1.0, 1.0], &[1.0, 2.0]);
    assert_eq!(gx, vec![3.0, -24.0]);
    let (v, g) = scaled_grad(&x);
    assert_eq!(v, scaled(&x));
    check("scaled", |z: &[f64]| scaled(z), &x, &g);
}

#[grad]
fn qtimesx32(qdiag: &[f32], ltri: &[f32], x: &[f32], out: &mut [f32]) {
    let d = x.len();
    for i in 0..d {
        out[i] = qdiag[i] * x[i];
    }
    let mut li = 0;
    for i in 0..d {
        for j in i + 1..d {
            out[j] += ltri[li] * x[i];
            li += 1;
        }
    }
}

#[grad]
fn quad32(q: &[f32], l: &[f32], x: &[f32]) -> f32 {
    let mut v = vec![0.0f32; 3];
    qtimesx32(q, l, x, &mut v);
    v[0] * v[0] + v[1] * v[2]
}

#[grad]
fn quad64(q: &[f64], l: &[f64], x: &[f64]) -> f64 {
    let mut v = vec![0.0; 3];
    qtimesx(q, l, x, &mut v);
    v[0] * v[0] + v[1] * v[2]
}

#[test]
fn f32_output_parameters() {
    common::check_f32(
        "quad32",
        |z| quad64(&z[0..3], &z[3..6], &z[6..9]),
        |z| quad32(&z[0..3], &z[3..6], &z[6..9]),
        |z| {
            let (v, (a, b, c)) = quad32_grad(&z[0..3], &z[3..6], &z[6..9]);
            (v, [a, b, c].concat())
        },
        &[(-1.0, 1.0); 9],
        |_| true,
    );
}

/// The generated code of a caller and of the scalar function written for a
/// callee are pinned (`tests/snapshots/`).
#[test]
fn generated_code_snapshots() {
    common::snapshot("out_call_caller", MAHALANOBIS_GRAD_SOURCE);
    common::snapshot("out_call_callee", QTIMESX_AUTODIFF_OUT_GRAD_SOURCE);
}
