//! Everyday idioms not covered elsewhere: `f32` slices, `&Vec<f64>`, an
//! array sized by a `const`, `let mut x = x;`, `continue` in `while`,
//! statistics over slices, recursion through slices.

// `&Vec<f64>` is tested on purpose: users write it.
#![allow(clippy::needless_range_loop, clippy::ptr_arg)]

use autodiff::check::GradCheck;
use autodiff::grad;
const N: usize = 3;

#[grad]
fn f32_slice(x: &[f32], w: f32) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += (x[i] * w).tanh();
    }
    s
}

#[grad]
fn vec_ref(x: &Vec<f64>) -> f64 {
    let mut s = 0.0;
    for v in x.iter() {
        s += v.abs().sqrt();
    }
    s
}

#[grad]
fn array_n(x: [f64; N], scale: f64) -> f64 {
    let mut p = 1.0;
    for i in 0..N {
        p *= x[i] * scale;
    }
    p
}

#[grad]
fn shadow_mut(x: f64, n: i32) -> f64 {
    let mut x = x;
    let mut i = 0;
    while i < n {
        i += 1;
        if i == 2 {
            continue;
        }
        x = x * 0.5 + 1.0 / (1.0 + x * x);
    }
    x
}

#[grad]
fn mean_var(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mut m = 0.0;
    for v in x {
        m += v;
    }
    m /= n;
    let mut var = 0.0;
    for v in x {
        var += (v - m).powi(2);
    }
    var / (n - 1.0)
}

#[grad]
fn tree(x: &[f64], depth: usize) -> f64 {
    if depth == 0 {
        return mean_var(x);
    }
    tree(x, depth - 1) * 0.5 + x[depth % x.len()]
}

#[test]
fn idioms() {
    let xs = [0.1f32, -0.2, 0.3];
    let (v, (g, gw)) = f32_slice_grad(&xs, 0.7);
    assert_eq!(v, f32_slice(&xs, 0.7));
    let mut flat = xs.to_vec();
    flat.push(0.7);
    let mut all = g.clone();
    all.push(gw);
    GradCheck::f32()
        .check(|p: &[f32]| f32_slice(&p[..3], p[3]), &flat, &all)
        .unwrap();
    let x = vec![0.4, 1.3, 2.2];
    let (_, g) = vec_ref_grad(&x);
    GradCheck::new()
        .check(|p| vec_ref(&p.to_vec()), &x, &g)
        .unwrap();
    let (_, (ga, gs)) = array_n_grad([0.5, 1.5, -2.0], 0.9);
    GradCheck::new()
        .check(
            |p| array_n([p[0], p[1], p[2]], p[3]),
            &[0.5, 1.5, -2.0, 0.9],
            &[ga[0], ga[1], ga[2], gs],
        )
        .unwrap();
    let (_, g) = shadow_mut_grad(0.8, 5);
    GradCheck::new()
        .check(|p| shadow_mut(p[0], 5), &[0.8], &[g])
        .unwrap();
    let (v, g) = tree_grad(&x, 3);
    assert_eq!(v, tree(&x, 3));
    GradCheck::new().check(|p| tree(p, 3), &x, &g).unwrap();
}
