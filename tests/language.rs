//! The supported subset of Rust, construct by construct: each function's
//! gradient is checked against central differences, and its value against
//! the original function bit for bit.

// The tests exercise exactly the forms these lints discourage.
#![allow(
    clippy::needless_return,
    clippy::needless_late_init,
    clippy::needless_lifetimes
)]

use autodiff::check::GradCheck;
use autodiff::{grad, sigmoid};

fn check(f: impl Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    if let Err(r) = GradCheck::new().check(f, x, g) {
        panic!("gradient mismatch at {x:?}\n{r}");
    }
}

#[grad]
fn lets_and_shadowing(x: f64, y: f64) -> f64 {
    let a: f64 = x * y;
    let a = a + x; // shadowing: a new version
    let b = {
        let a = a * 2.0; // inner shadow, does not leak out of the block
        a.exp() / 10.0
    };
    a * b
}

#[test]
fn let_annotations_shadowing_and_blocks() {
    for x in [[0.3, -0.7], [1.1, 0.4], [-0.5, 0.9]] {
        let (v, (gx, gy)) = lets_and_shadowing_grad(x[0], x[1]);
        assert_eq!(v.to_bits(), lets_and_shadowing(x[0], x[1]).to_bits());
        check(|p| lets_and_shadowing(p[0], p[1]), &x, &[gx, gy]);
    }
}

#[grad]
fn mutation(mut x: f64, y: f64) -> f64 {
    let mut acc = 0.0;
    acc += x * y;
    acc -= y / 3.0;
    acc *= x;
    acc /= 1.0 + y * y;
    x = x * x; // reassigning a `mut` parameter
    let z;
    z = acc + x;
    return z * 2.0;
}

/// Tuple `let`s: a tuple of values (typed or not, `_` allowed, `mut`
/// names), every value computed before any name is bound (the swap), and
/// `sin_cos`.
#[grad]
fn tuple_lets(x: f64, y: f64) -> f64 {
    let (a, b) = (x * y, x + y);
    let (a, b) = (b, a);
    let (s, c) = (a * 0.3).sin_cos();
    let (p, _): (f64, f64) = (s * c + b, x.exp());
    let (mut u, v) = (p, y);
    u += v * a;
    u * s - c
}

#[test]
fn tuple_lets_bind_each_name() {
    for x in [[0.3, -0.7], [1.1, 0.4], [-2.5, 1.9]] {
        let (v, (gx, gy)) = tuple_lets_grad(x[0], x[1]);
        assert_eq!(v.to_bits(), tuple_lets(x[0], x[1]).to_bits());
        check(|p| tuple_lets(p[0], p[1]), &x, &[gx, gy]);
    }
}

#[test]
fn let_mut_compound_assignment_mut_params_and_return() {
    for x in [[0.3, -0.7], [1.1, 0.4], [-2.5, 1.9]] {
        let (v, (gx, gy)) = mutation_grad(x[0], x[1]);
        assert_eq!(v.to_bits(), mutation(x[0], x[1]).to_bits());
        check(|p| mutation(p[0], p[1]), &x, &[gx, gy]);
    }
}

const SCALE: f64 = 1.5;

#[grad]
fn constants_and_casts(x: f64, n: i32, k: usize, flag: bool) -> f64 {
    const LOCAL: f64 = 0.25;
    let m = n * 2 + 1; // integer arithmetic: constant
    let s = if_free(flag);
    let c = (m as f64) * SCALE + k as f64 + s;
    (x * std::f64::consts::PI).sin() * c + LOCAL * x + f64::EPSILON
}

fn if_free(flag: bool) -> f64 {
    flag as i32 as f64
}

#[test]
fn constants_integer_parameters_and_integer_casts() {
    // Integer, usize and bool parameters are constants: one gradient entry.
    let (v, g): (f64, f64) = constants_and_casts_grad(0.3, 2, 3, true);
    assert_eq!(v.to_bits(), constants_and_casts(0.3, 2, 3, true).to_bits());
    check(|p| constants_and_casts(p[0], 2, 3, true), &[0.3], &[g]);
}

#[grad]
fn fan_out(x: f64) -> f64 {
    let a = x * x * x;
    let b = x.sin() * x;
    a + b + x
}

#[test]
fn fan_out_adds_gradients() {
    for x in [-1.3, 0.2, 2.0] {
        let (_, g) = fan_out_grad(x);
        check(|p| fan_out(p[0]), &[x], &[g]);
    }
}

#[grad]
fn unused_parameter(x: f64, y: f64, _z: f64) -> f64 {
    let unused = y * 3.0; // computed, but does not reach the output
    let _ = unused;
    x * 2.0
}

#[test]
fn unused_parameters_get_zero() {
    let (v, (gx, gy, gz)) = unused_parameter_grad(1.0, 2.0, 3.0);
    assert_eq!((v, gx, gy, gz), (2.0, 2.0, 0.0, 0.0));
}

#[grad]
fn constant_output(x: f64, y: f64) -> f64 {
    let _ = x * y;
    3.5
}

#[test]
fn constant_output_has_zero_gradient() {
    assert_eq!(constant_output_grad(1.0, 2.0), (3.5, (0.0, 0.0)));
}

#[grad]
fn returns_a_parameter(x: f64, y: f64) -> f64 {
    let _ = y;
    x
}

#[test]
fn returning_a_parameter() {
    assert_eq!(returns_a_parameter_grad(4.0, 5.0), (4.0, (1.0, 0.0)));
}

#[grad(wrt(w, b))]
fn narrowed(w: f64, x: f64, b: f64) -> f64 {
    sigmoid(w * x + b)
}

#[test]
fn wrt_narrows_the_gradient() {
    let (v, (gw, gb)) = narrowed_grad(0.5, 2.0, -0.3);
    assert_eq!(v, narrowed(0.5, 2.0, -0.3));
    check(|p| narrowed(p[0], 2.0, p[1]), &[0.5, -0.3], &[gw, gb]);
}

#[grad]
fn single(x: f64) -> f64 {
    x.powi(3)
}

#[test]
fn one_parameter_gives_a_bare_gradient() {
    let (v, g): (f64, f64) = single_grad(2.0);
    assert_eq!((v, g), (8.0, 12.0));
}

#[grad]
fn paths_and_calls(x: f64, y: f64) -> f64 {
    f64::max(x, y) * f64::exp(x) + f64::hypot(x, y) + autodiff::sigmoid(y) + f64::powi(x, 2)
}

#[test]
fn float_methods_called_by_path() {
    for x in [[0.3, -0.7], [-1.1, 0.4]] {
        let (_, (gx, gy)) = paths_and_calls_grad(x[0], x[1]);
        check(|p| paths_and_calls(p[0], p[1]), &x, &[gx, gy]);
    }
}

#[grad]
fn runtime_exponent(x: f64, n: i32) -> f64 {
    x.powi(n) + x.powi(n - 1)
}

#[test]
fn powi_with_a_runtime_exponent() {
    for n in [-2, 0, 1, 2, 5] {
        let (_, g) = runtime_exponent_grad(1.3, n);
        check(|p| runtime_exponent(p[0], n), &[1.3], &[g]);
    }
}

#[grad]
fn mixed_precision(x: f32, y: f64) -> f64 {
    let a = x as f64; // f32 -> f64
    let b = f64::from(x * x);
    let c = (y as f32).sin(); // f64 -> f32, active
    a * y + b + c as f64
}

#[test]
fn float_casts_carry_gradients_back() {
    let (v, (gx, gy)): (f64, (f32, f64)) = mixed_precision_grad(0.5, 1.25);
    assert_eq!(v.to_bits(), mixed_precision(0.5, 1.25).to_bits());
    let dx = 1.25 + 2.0 * 0.5;
    let dy = 0.5 + (1.25f32).cos() as f64;
    assert!((gx as f64 - dx).abs() < 1e-6);
    assert!((gy - dy).abs() < 1e-6);
}

#[grad]
fn single_precision(x: f32, y: f32) -> f32 {
    let s = sigmoid(x * y);
    (s + x).ln() * y.tanh()
}

#[test]
fn f32_functions() {
    let (v, (gx, gy)) = single_precision_grad(0.7, -0.4);
    assert_eq!(v, single_precision(0.7, -0.4));
    if let Err(r) = GradCheck::f32().check(
        |p: &[f32]| single_precision(p[0], p[1]),
        &[0.7, -0.4],
        &[gx, gy],
    ) {
        panic!("{r}");
    }
}

/// User names that look like generated ones must keep their meaning.
#[grad]
fn clashing_names(a: f64, grad_a: f64, t0: f64, out: f64) -> f64 {
    let grad_out = a * grad_a;
    let t1 = grad_out + t0 * out;
    let cotangent = t1 * a;
    cotangent + (a * t0).sin()
}

#[test]
fn user_names_never_clash_with_generated_names() {
    let x = [0.4, -1.2, 0.8, 1.7];
    let (v, g) = clashing_names_grad(x[0], x[1], x[2], x[3]);
    assert_eq!(v, clashing_names(x[0], x[1], x[2], x[3]));
    check(
        |p| clashing_names(p[0], p[1], p[2], p[3]),
        &x,
        &[g.0, g.1, g.2, g.3],
    );
    // The printed adjoint stays unambiguous: the adjoint of `a` is not `grad_a`.
    assert!(CLASHING_NAMES_GRAD_SOURCE.contains("let mut grad_a_1 = "));
    assert!(CLASHING_NAMES_GRAD_SOURCE.contains("let grad_grad_a = "));
}

#[grad]
pub fn with_lifetime<'a>(x: f64, _label: &'a str) -> f64 {
    x * x
}

mod inner {
    use autodiff::grad;
    #[grad]
    pub(crate) fn in_module(x: f64) -> f64 {
        x.exp()
    }
}

#[test]
fn visibility_and_lifetimes_are_kept() {
    assert_eq!(with_lifetime_grad(3.0, "x"), (9.0, 6.0));
    let (v, g) = inner::in_module_grad(0.0);
    assert_eq!((v, g), (1.0, 1.0));
}

#[test]
fn pullback_scales_by_the_cotangent() {
    let (_, g) = lets_and_shadowing_grad(0.3, -0.7);
    let (px, py) = lets_and_shadowing_pullback(0.3, -0.7, 2.5);
    // Equal up to rounding: the cotangent enters at the top of the sweep.
    assert!((px - 2.5 * g.0).abs() <= 1e-15 * px.abs());
    assert!((py - 2.5 * g.1).abs() <= 1e-15 * py.abs());
    assert_eq!(single_pullback(2.0, -1.0), -12.0);
}

#[grad]
fn deep(x: f64) -> f64 {
    ((((((((x + 1.0) * 0.5).sin() + x) * 0.9).cos() - x) * 1.1).tanh() + x * x).exp() - 1.0)
        / (1.0 + x * x)
}

#[test]
fn deeply_nested_expression() {
    for x in [-0.9, 0.1, 0.8] {
        let (_, g) = deep_grad(x);
        check(|p| deep(p[0]), &[x], &[g]);
    }
}

macro_rules! make_poly {
    ($name:ident, $grad:ident, $x:ident) => {
        #[grad]
        fn $name($x: f64) -> f64 {
            let y = $x * $x; // `y` here is the macro's own, hygienic name
            y * $x + 1.0
        }
    };
}
make_poly!(cube_plus_one, cube_plus_one_grad, x);

#[test]
fn hygiene_inside_macro_rules() {
    assert_eq!(cube_plus_one_grad(2.0), (9.0, 12.0));
}

#[test]
fn the_generated_source_is_readable_text() {
    assert!(NEURON_SRC_GRAD_SOURCE.contains("fn neuron_src_grad("));
    assert!(NEURON_SRC_GRAD_SOURCE.contains("let grad_s = grad_out * (1.0 - out) * out;"));
}

#[grad]
fn neuron_src(w: f64, x: f64) -> f64 {
    let s = w * x;
    sigmoid(s)
}
