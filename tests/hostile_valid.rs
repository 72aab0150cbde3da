//! The odd-but-valid inputs of the hostile corpus
//! (`autodiff-macros/src/hostile_tests.rs`) compiled for real: each gives the
//! value of the original function and a gradient that matches central
//! differences.

#![allow(non_snake_case, clippy::all, unused)]

use autodiff::check::GradCheck;
use autodiff::grad;

fn check(name: &str, f: impl Fn(&[f64]) -> f64, x: &[f64], g: &[f64]) {
    if let Err(r) = GradCheck::new().check(f, x, g) {
        panic!("{name}: gradient mismatch at {x:?}\n{r}");
    }
}

#[grad(wrt(y))]
fn generic_with_wrt<T: Copy>(_x: T, y: f64) -> f64 {
    y * y
}

#[grad]
fn const_generic_array<const N: usize>(x: [f64; N]) -> f64 {
    x[0] * x[N - 1]
}

#[grad]
fn parameter_attributes(#[allow(unused)] x: f64, y: f64) -> f64 {
    y.sin()
}

#[grad]
fn where_clause<'a>(x: f64, s: &'a str) -> f64
where
    'a: 'a,
{
    x * s.len() as f64
}

#[grad]
const fn const_fn(x: f64) -> f64 {
    x * 3.0
}

#[grad]
fn nested_items(x: f64) -> f64 {
    fn h(v: f64) -> f64 {
        v
    }
    struct S;
    let _ = S;
    x * 2.0
}

#[grad]
fn unicode(größe: f64, λ: f64) -> f64 {
    größe * λ
}

#[grad]
fn raw_identifiers(r#type: f64, r#fn: f64) -> f64 {
    let r#let = r#type * r#fn;
    r#let
}

#[grad]
fn shadowing_the_functions_name(x: f64) -> f64 {
    let shadowing_the_functions_name = x * 2.0;
    shadowing_the_functions_name * shadowing_the_functions_name
}

#[grad]
fn names_like_generated_ones(grad_x: f64, tape_x: f64, iters: f64, t0: f64) -> f64 {
    let out = grad_x * tape_x;
    let value = out + iters * t0;
    let ret = value.sin();
    ret
}

#[grad(wrt(x,))]
fn wrt_trailing_comma(x: f64) -> f64 {
    x.exp()
}

#[grad]
fn f32_result_of_f64(x: f64) -> f32 {
    (x * x) as f32
}

#[grad]
fn integer_only_control_flow(x: f64, n: usize) -> f64 {
    let mut k = 0;
    for i in 0..n {
        if i % 2 == 0 {
            k += i;
        }
    }
    x * k as f64
}

#[test]
fn odd_but_valid_inputs_differentiate() {
    let (v, g) = generic_with_wrt_grad("label", 1.5);
    assert_eq!((v, g), (2.25, 3.0));
    let (v, g) = const_generic_array_grad([2.0, 5.0, 3.0]);
    assert_eq!((v, g), (6.0, [3.0, 0.0, 2.0]));
    let (_, (gx, gy)) = parameter_attributes_grad(1.0, 0.5);
    assert_eq!((gx, gy), (0.0, 0.5f64.cos()));
    assert_eq!(where_clause_grad(2.0, "abc"), (6.0, 3.0));
    assert_eq!(const_fn_grad(2.0), (6.0, 3.0));
    assert_eq!(nested_items_grad(1.0), (2.0, 2.0));
    assert_eq!(unicode_grad(2.0, 3.0), (6.0, (3.0, 2.0)));
    assert_eq!(raw_identifiers_grad(2.0, 3.0), (6.0, (3.0, 2.0)));
    assert_eq!(shadowing_the_functions_name_grad(1.5), (9.0, 12.0));
    let p = [0.3, -0.7, 1.1, 0.4];
    let (v, g) = names_like_generated_ones_grad(p[0], p[1], p[2], p[3]);
    assert_eq!(v, names_like_generated_ones(p[0], p[1], p[2], p[3]));
    check(
        "names",
        |q| names_like_generated_ones(q[0], q[1], q[2], q[3]),
        &p,
        &[g.0, g.1, g.2, g.3],
    );
    assert_eq!(wrt_trailing_comma_grad(0.0), (1.0, 1.0));
    let (v, g) = f32_result_of_f64_grad(1.5);
    assert_eq!((v, g), (2.25f32, 3.0f64));
    assert_eq!(integer_only_control_flow_grad(2.0, 5), (12.0, 6.0));
}
