//! Elementwise ops: values, broadcasting, and pullbacks against finite differences
//! (tolerances are described in `common/mod.rs`).

mod common;

use autodiff_runtime::tensor::*;
use common::{away_from, distinct, GradCheck};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape)
}

/// Pairs of shapes exercising broadcasting: equal, bias add, per-channel, both
/// sides stretched, rank-0, and odd sizes.
const SHAPES: &[(&[usize], &[usize])] = &[
    (&[3, 5], &[3, 5]),
    (&[7, 3], &[3]),
    (&[2, 3, 4, 5], &[1, 3, 1, 1]),
    (&[5, 1], &[1, 4]),
    (&[3], &[]),
    (&[], &[2, 3]),
    (&[2, 1, 3], &[4, 1]),
    (&[1], &[3, 1, 2, 5]),
];

#[test]
fn broadcast_values() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let b = t(&[10., 20., 30.], &[3]);
    assert_eq!(add(&a, &b).data(), &[11., 22., 33., 14., 25., 36.]);
    let col = t(&[1., 2.], &[2, 1]);
    assert_eq!(mul(&a, &col).data(), &[1., 2., 3., 8., 10., 12.]);
    let outer = sub(&t(&[1., 2.], &[2, 1]), &t(&[1., 2., 3.], &[1, 3]));
    assert_eq!(outer.shape(), &[2, 3]);
    assert_eq!(outer.data(), &[0., -1., -2., 1., 0., -1.]);
    let x = Tensor::ones(&[2, 3, 2, 2]);
    let per_channel = t(&[1., 2., 3.], &[1, 3, 1, 1]);
    let y = div(&x, &per_channel);
    assert_eq!(y.at(&[1, 2, 1, 0]), 1.0 / 3.0);
    assert_eq!(y.at(&[0, 1, 0, 1]), 0.5);
}

#[test]
fn sum_to_shape_reduces_broadcast_dims() {
    let g = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    assert_eq!(sum_to_shape(&g, &[3]).data(), &[5., 7., 9.]);
    assert_eq!(sum_to_shape(&g, &[2, 1]).data(), &[6., 15.]);
    assert_eq!(sum_to_shape(&g, &[]).data(), &[21.]);
    assert_eq!(sum_to_shape(&g, &[2, 3]), g);
}

#[test]
#[should_panic(expected = "sum_to_shape")]
fn sum_to_shape_rejects_non_broadcast() {
    sum_to_shape(&Tensor::ones(&[2, 3]), &[2]);
}

#[test]
#[should_panic(expected = "add: shapes [2, 3] and [4] cannot be broadcast together")]
fn broadcast_error_names_op_and_shapes() {
    let _ = add(&Tensor::ones(&[2, 3]), &Tensor::ones(&[4]));
}

type Bin = fn(&Tensor, &Tensor) -> Tensor;
type BinPb = fn(&Tensor, &Tensor, &Tensor, &Tensor) -> (Tensor, Tensor);

fn check_binary(name: &str, f: Bin, pb: BinPb, positive_b: bool) {
    for (i, &(sa, sb)) in SHAPES.iter().enumerate() {
        let a = randn(sa, 10 + i as u64);
        let mut b = randn(sb, 50 + i as u64);
        if positive_b {
            b = b.map(|x| x.abs() + 0.5);
        }
        GradCheck::default().run(
            &format!("{name} {sa:?} {sb:?}"),
            &[a, b],
            |x| f(&x[0], &x[1]),
            |x, y, g| {
                let (ga, gb) = pb(&x[0], &x[1], y, g);
                vec![ga, gb]
            },
        );
    }
}

#[test]
fn binary_pullbacks() {
    check_binary("add", add, add_pullback, false);
    check_binary("sub", sub, sub_pullback, false);
    check_binary("mul", mul, mul_pullback, false);
    check_binary("div", div, div_pullback, true);
}

#[test]
fn maximum_minimum_pullbacks() {
    for (i, &(sa, sb)) in SHAPES.iter().enumerate() {
        // Interleaved distinct values keep every pair at least 0.05 apart.
        let n: usize = sa.iter().product::<usize>() + sb.iter().product::<usize>();
        let all = distinct(&[n], 0.05, 7 + i as u64);
        let na: usize = sa.iter().product();
        let a = Tensor::from_vec(all.data()[..na].to_vec(), sa);
        let b = Tensor::from_vec(all.data()[na..].to_vec(), sb);
        let gc = GradCheck::h(1e-3);
        gc.run(
            "maximum",
            &[a.clone(), b.clone()],
            |x| maximum(&x[0], &x[1]),
            |x, y, g| {
                let (p, q) = maximum_pullback(&x[0], &x[1], y, g);
                vec![p, q]
            },
        );
        gc.run(
            "minimum",
            &[a, b],
            |x| minimum(&x[0], &x[1]),
            |x, y, g| {
                let (p, q) = minimum_pullback(&x[0], &x[1], y, g);
                vec![p, q]
            },
        );
    }
}

#[test]
fn ties_split_evenly_as_in_pytorch() {
    let a = t(&[1., 2., 3.], &[3]);
    let b = t(&[1., 5., 3.], &[3]);
    let g = t(&[10., 20., 30.], &[3]);
    let y = maximum(&a, &b);
    let (ga, gb) = maximum_pullback(&a, &b, &y, &g);
    assert_eq!(ga.data(), &[5., 0., 15.]);
    assert_eq!(gb.data(), &[5., 20., 15.]);
    let y = minimum(&a, &b);
    let (ga, gb) = minimum_pullback(&a, &b, &y, &g);
    assert_eq!(ga.data(), &[5., 20., 15.]);
    assert_eq!(gb.data(), &[5., 0., 15.]);
    // Broadcast tie: the scalar s = 2 ties with a[1]; they split its gradient,
    // and s also takes all of a[0]'s (1 < 2).
    let s = Tensor::scalar(2.0);
    let y = maximum(&a, &s);
    let (ga, gs) = maximum_pullback(&a, &s, &y, &g);
    assert_eq!(ga.data(), &[0., 10., 30.]);
    assert_eq!(gs.data(), &[20.]);
}

#[test]
fn relu_lecture_example() {
    // Lecture: ReLU on [1, -2, 3, -1] with upstream [4, -1, 5, 9] gives [4, 0, 5, 0].
    let x = t(&[1., -2., 3., -1.], &[4]);
    let y = relu(&x);
    assert_eq!(y.data(), &[1., 0., 3., 0.]);
    let g = relu_pullback(&x, &y, &t(&[4., -1., 5., 9.], &[4]));
    assert_eq!(g.data(), &[4., 0., 5., 0.]);
}

#[test]
fn relu_gradient_at_zero_is_zero() {
    let x = t(&[0.0, -0.0, 1e-30], &[3]);
    let g = relu_pullback(&x, &relu(&x), &Tensor::ones(&[3]));
    assert_eq!(g.data(), &[0., 0., 1.]);
    let lg = leaky_relu_pullback(&x, 0.1, &leaky_relu(&x, 0.1), &Tensor::ones(&[3]));
    assert_eq!(lg.data(), &[0.1, 0.1, 1.]);
}

type Un = fn(&Tensor) -> Tensor;
type UnPb = fn(&Tensor, &Tensor, &Tensor) -> Tensor;

#[test]
fn unary_pullbacks() {
    let cases: &[(&str, Un, UnPb, bool)] = &[
        ("neg", neg, neg_pullback, false),
        ("exp", exp, exp_pullback, false),
        ("ln", ln, ln_pullback, true),
        ("sqrt", sqrt, sqrt_pullback, true),
        ("sqr", sqr, sqr_pullback, false),
        ("tanh", tanh, tanh_pullback, false),
        ("sigmoid", sigmoid, sigmoid_pullback, false),
    ];
    for (k, &(name, f, pb, positive)) in cases.iter().enumerate() {
        for (i, shape) in [&[][..], &[7], &[3, 5], &[2, 3, 1, 5]].iter().enumerate() {
            let mut x = randn(shape, 100 * k as u64 + i as u64);
            if positive {
                x = x.map(|v| v.abs() + 0.5);
            }
            GradCheck::default().run(name, &[x], |x| f(&x[0]), |x, y, g| vec![pb(&x[0], y, g)]);
        }
    }
    let x = away_from(&[4, 9], &[0.0], 0.02, 3);
    GradCheck::h(1e-3).run(
        "relu",
        std::slice::from_ref(&x),
        |x| relu(&x[0]),
        |x, y, g| vec![relu_pullback(&x[0], y, g)],
    );
    GradCheck::h(1e-3).run(
        "leaky_relu",
        &[x],
        |x| leaky_relu(&x[0], 0.2),
        |x, y, g| vec![leaky_relu_pullback(&x[0], 0.2, y, g)],
    );
    let x = randn(&[3, 4], 9).map(|v| v.abs() + 0.5);
    for p in [2.0, 0.5, -1.5, 3.0] {
        GradCheck::default().run(
            "powf",
            std::slice::from_ref(&x),
            |x| powf(&x[0], p),
            |x, y, g| vec![powf_pullback(&x[0], p, y, g)],
        );
    }
}

#[test]
fn sigmoid_is_stable_for_large_inputs() {
    let y = sigmoid(&t(&[-1e4, -100., 0., 100., 1e4], &[5]));
    assert!(y.data().iter().all(|v| v.is_finite()));
    assert_eq!(y.data()[0], 0.0);
    assert_eq!(y.data()[2], 0.5);
    assert_eq!(y.data()[4], 1.0);
}

/// Saturated sigmoid units must not produce subnormals: they slow every later
/// GEMM they enter several-fold.
#[test]
fn sigmoid_flushes_subnormal_results() {
    let x = t(&[-80., -87., -87.5, -88., -95., -103., -104.], &[7]);
    let y = sigmoid(&x);
    assert!(y.data().iter().all(|v| !v.is_subnormal()), "{y:?}");
    // Still e^x where the result is normal.
    let e80 = (-80f64).exp() as f32;
    assert!((y.data()[0] - e80).abs() <= 4.0 * e80 * f32::EPSILON);
    assert!(y.data()[1] > 0.0);
    assert_eq!(y.data()[3..], [0.0; 4]);
}

/// sigmoid uses its own vectorisable exp; it must stay within a few ulp of the
/// exact value everywhere it is normal, and keep the exact special values.
#[test]
fn sigmoid_accuracy() {
    let xs: Vec<f32> = (-8700..=2000).map(|i| i as f32 * 0.01).collect();
    let n = xs.len();
    let y = sigmoid(&Tensor::from_vec(xs.clone(), &[n]));
    let mut worst = 0f64;
    for (&x, &s) in xs.iter().zip(y.data()) {
        let exact = 1.0 / (1.0 + (-(x as f64)).exp());
        worst = worst.max(((s as f64 - exact) / exact).abs());
    }
    assert!(
        worst < 4.0 * f32::EPSILON as f64,
        "max relative error {worst:e}"
    );
    let special = sigmoid(&t(
        &[0.0, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
        &[5],
    ));
    assert_eq!(special.data()[..2], [0.5, 0.5]);
    assert!(special.data()[2].is_nan());
    assert_eq!(special.data()[3..], [1.0, 0.0]);
}

/// Scalar ops have a differentiable `f32`; it is checked by wrapping it as a
/// rank-0 tensor.
#[test]
fn scalar_op_pullbacks() {
    let a = randn(&[3, 4], 1);
    let pos = a.map(|v| v.abs() + 0.5);
    let s = Tensor::scalar(1.7);
    let gc = GradCheck::default();
    macro_rules! tensor_first {
        ($f:ident, $pb:ident, $a:expr) => {
            gc.run(
                stringify!($f),
                &[$a.clone(), s.clone()],
                |x| $f(&x[0], x[1].item()),
                |x, y, g| {
                    let (ga, gs) = $pb(&x[0], x[1].item(), y, g);
                    vec![ga, Tensor::scalar(gs)]
                },
            )
        };
    }
    macro_rules! scalar_first {
        ($f:ident, $pb:ident, $a:expr) => {
            gc.run(
                stringify!($f),
                &[s.clone(), $a.clone()],
                |x| $f(x[0].item(), &x[1]),
                |x, y, g| {
                    let (gs, ga) = $pb(x[0].item(), &x[1], y, g);
                    vec![Tensor::scalar(gs), ga]
                },
            )
        };
    }
    tensor_first!(add_scalar, add_scalar_pullback, a);
    tensor_first!(sub_scalar, sub_scalar_pullback, a);
    tensor_first!(mul_scalar, mul_scalar_pullback, a);
    tensor_first!(div_scalar, div_scalar_pullback, a);
    scalar_first!(scalar_sub, scalar_sub_pullback, a);
    scalar_first!(scalar_div, scalar_div_pullback, pos);
}

#[test]
fn operators_match_named_functions() {
    let a = randn(&[2, 3], 1);
    let b = randn(&[3], 2);
    assert_eq!(&a + &b, add(&a, &b));
    assert_eq!(a.clone() - &b, sub(&a, &b));
    assert_eq!(&a * b.clone(), mul(&a, &b));
    assert_eq!(a.clone() / b.clone(), div(&a, &b));
    assert_eq!(&a + 2.0, add_scalar(&a, 2.0));
    assert_eq!(2.0 + &a, add_scalar(&a, 2.0));
    assert_eq!(a.clone() - 2.0, sub_scalar(&a, 2.0));
    assert_eq!(2.0 - a.clone(), scalar_sub(2.0, &a));
    assert_eq!(&a * 3.0, mul_scalar(&a, 3.0));
    assert_eq!(3.0 * a.clone(), mul_scalar(&a, 3.0));
    assert_eq!(&a / 4.0, div_scalar(&a, 4.0));
    assert_eq!(4.0 / &a, scalar_div(4.0, &a));
    assert_eq!(-&a, neg(&a));
    assert_eq!(-a.clone(), neg(&a));
}

#[test]
fn add_assign_accumulates() {
    let mut acc = Tensor::zeros(&[2, 3]);
    acc += &Tensor::ones(&[2, 3]);
    acc += Tensor::full(&[2, 3], 2.0);
    acc += &t(&[1., 2., 3.], &[3]);
    assert_eq!(acc.data(), &[4., 5., 6., 4., 5., 6.]);
}

#[test]
#[should_panic(expected = "add_assign: [3] += [2, 3]")]
fn add_assign_cannot_grow() {
    let mut acc = Tensor::zeros(&[3]);
    acc += Tensor::ones(&[2, 3]);
}

/// Large elementwise ops run in parallel; the result must not depend on the
/// thread count (and the parallel split must cover every element).
#[test]
fn large_elementwise_independent_of_thread_count() {
    let n = (1 << 16) * 3 + 7;
    let a = randn(&[n], 1);
    let b = randn(&[n], 2);
    let run = || {
        let y = relu(&a);
        vec![
            y.clone(),
            relu_pullback(&a, &y, &b),
            sigmoid(&a),
            &a * &b,
            mul_scalar(&a, 3.0),
        ]
    };
    let one = with_threads(1, run);
    let two = with_threads(2, run);
    for (i, (x, y)) in one.iter().zip(&two).enumerate() {
        assert_eq!(x, y, "op {i}");
    }
    assert_eq!(one[0], a.map(|v| v.max(0.0)));
}
