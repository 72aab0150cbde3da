//! matmul, reductions and layout ops; finite-difference tolerances are described
//! in `common/mod.rs`.

mod common;

use autodiff_runtime::tensor::*;
use common::GradCheck;

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape)
}

#[test]
fn matmul_lecture_example() {
    let x = t(&[2., 1., -3., -3., 4., 2.], &[2, 3]);
    let w = t(&[3., 2., 1., -1., 2., 1., 3., 2., 3., 2., 1., -2.], &[3, 4]);
    let up = t(&[2., 3., -3., 9., -8., 1., 4., 6.], &[2, 4]);
    let y = matmul(&x, &w);
    // Expected values computed by hand (and cross-checked with numpy).
    assert_eq!(y.data(), &[-1., -1., 2., 6., 5., 2., 11., 7.]);
    let (dx, dw) = matmul_pullback(&x, &w, &y, &up);
    // dL/dx = upstream · wᵀ
    assert_eq!(dx.shape(), &[2, 3]);
    assert_eq!(dx.data(), &[0., 16., -9., -24., 9., -30.]);
    // dL/dw = xᵀ · upstream
    assert_eq!(dw.shape(), &[3, 4]);
    assert_eq!(
        dw.data(),
        &[28., 3., -18., 0., -30., 7., 13., 33., -22., -7., 17., -15.]
    );
}

fn naive_matmul(a: &Tensor, b: &Tensor) -> Tensor {
    let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
    let mut out = vec![0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            out[i * n + j] = (0..k)
                .map(|p| a.data()[i * k + p] as f64 * b.data()[p * n + j] as f64)
                .sum::<f64>() as f32;
        }
    }
    Tensor::from_vec(out, &[m, n])
}

#[test]
fn matmul_matches_naive_on_odd_sizes() {
    for (i, &(m, k, n)) in [
        (1, 1, 1),
        (3, 7, 5),
        (17, 33, 9),
        (64, 65, 63),
        (130, 3, 129),
    ]
    .iter()
    .enumerate()
    {
        let a = randn(&[m, k], i as u64);
        let b = randn(&[k, n], 100 + i as u64);
        let y = matmul(&a, &b);
        let r = naive_matmul(&a, &b);
        assert!(y.allclose(&r, 1e-4, 1e-4), "{m}x{k}x{n}");
        // Thread count must not change the result beyond rounding.
        let y1 = with_threads(1, || matmul(&a, &b));
        let y2 = with_threads(2, || matmul(&a, &b));
        assert!(y1.allclose(&y2, 1e-5, 1e-5));
    }
}

#[test]
fn matmul_pullbacks() {
    // matmul is bilinear: moving one input at a time is exact for any h, so a
    // large h removes f32 rounding from the check.
    for (i, &(m, k, n)) in [(2, 3, 4), (5, 1, 7), (9, 6, 3)].iter().enumerate() {
        let a = randn(&[m, k], i as u64);
        let b = randn(&[k, n], 10 + i as u64);
        GradCheck::h(0.5).run(
            "matmul 2d",
            &[a, b],
            |x| matmul(&x[0], &x[1]),
            |x, y, g| {
                let (p, q) = matmul_pullback(&x[0], &x[1], y, g);
                vec![p, q]
            },
        );
        let a = randn(&[3, m, k], 20 + i as u64);
        let b = randn(&[3, k, n], 30 + i as u64);
        for threads in [1, 2] {
            with_threads(threads, || {
                GradCheck::h(0.5).run(
                    "matmul 3d",
                    &[a.clone(), b.clone()],
                    |x| matmul(&x[0], &x[1]),
                    |x, y, g| {
                        let (p, q) = matmul_pullback(&x[0], &x[1], y, g);
                        vec![p, q]
                    },
                )
            });
        }
    }
}

#[test]
fn batched_matmul_is_per_batch_matmul() {
    let a = randn(&[4, 3, 5], 1);
    let b = randn(&[4, 5, 2], 2);
    let y = matmul(&a, &b);
    assert_eq!(y.shape(), &[4, 3, 2]);
    for bi in 0..4 {
        let ab = Tensor::from_vec(a.data()[bi * 15..(bi + 1) * 15].to_vec(), &[3, 5]);
        let bb = Tensor::from_vec(b.data()[bi * 10..(bi + 1) * 10].to_vec(), &[5, 2]);
        let yb = Tensor::from_vec(y.data()[bi * 6..(bi + 1) * 6].to_vec(), &[3, 2]);
        assert!(yb.allclose(&naive_matmul(&ab, &bb), 1e-5, 1e-5));
    }
}

#[test]
#[should_panic(expected = "matmul: [64, 100] x [10, 100]: inner dimensions 100 and 10 differ")]
fn matmul_inner_mismatch() {
    let _ = matmul(&Tensor::zeros(&[64, 100]), &Tensor::zeros(&[10, 100]));
}

#[test]
#[should_panic(expected = "matmul: [2, 3, 4] x [3, 4, 5]: batch sizes 2 and 3 differ")]
fn matmul_batch_mismatch() {
    let _ = matmul(&Tensor::zeros(&[2, 3, 4]), &Tensor::zeros(&[3, 4, 5]));
}

#[test]
#[should_panic(expected = "matmul: [3] x [3, 4]: operands must both be rank 2")]
fn matmul_rank_mismatch() {
    let _ = matmul(&Tensor::zeros(&[3]), &Tensor::zeros(&[3, 4]));
}

/// The checker itself must reject a wrong gradient, or every passing check above
/// would mean nothing.
#[test]
#[should_panic(expected = "analytic")]
fn gradcheck_catches_a_wrong_pullback() {
    let a = randn(&[3, 4], 1);
    let b = randn(&[4, 2], 2);
    GradCheck::h(0.5).run(
        "wrong",
        &[a, b],
        |x| matmul(&x[0], &x[1]),
        |x, y, g| {
            let (p, q) = matmul_pullback(&x[0], &x[1], y, g);
            vec![p.map(|v| v * 1.01), q]
        },
    );
}

#[test]
fn reductions() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    assert_eq!(sum(&a).shape(), &[] as &[usize]);
    assert_eq!(sum(&a).item(), 21.0);
    assert_eq!(mean(&a).item(), 3.5);
    assert_eq!(sum_axis(&a, 0, false).data(), &[5., 7., 9.]);
    assert_eq!(sum_axis(&a, 1, true).shape(), &[2, 1]);
    assert_eq!(sum_axis(&a, 1, true).data(), &[6., 15.]);
    assert_eq!(mean_axis(&a, 1, false).data(), &[2., 5.]);
    let shapes: &[&[usize]] = &[&[5], &[3, 4], &[2, 3, 5], &[2, 3, 2, 3]];
    for (i, s) in shapes.iter().enumerate() {
        let x = randn(s, i as u64);
        let gc = GradCheck::h(0.5);
        gc.run(
            "sum",
            std::slice::from_ref(&x),
            |x| sum(&x[0]),
            |x, y, g| vec![sum_pullback(&x[0], y, g)],
        );
        gc.run(
            "mean",
            std::slice::from_ref(&x),
            |x| mean(&x[0]),
            |x, y, g| vec![mean_pullback(&x[0], y, g)],
        );
        for axis in 0..s.len() {
            for keep in [false, true] {
                gc.run(
                    "sum_axis",
                    std::slice::from_ref(&x),
                    |x| sum_axis(&x[0], axis, keep),
                    |x, y, g| vec![sum_axis_pullback(&x[0], axis, keep, y, g)],
                );
                gc.run(
                    "mean_axis",
                    std::slice::from_ref(&x),
                    |x| mean_axis(&x[0], axis, keep),
                    |x, y, g| vec![mean_axis_pullback(&x[0], axis, keep, y, g)],
                );
            }
        }
    }
}

#[test]
#[should_panic(expected = "sum_axis: axis 2 out of range for shape [2, 3]")]
fn sum_axis_bad_axis() {
    let _ = sum_axis(&Tensor::zeros(&[2, 3]), 2, false);
}

#[test]
fn layout_ops() {
    let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
    let at = transpose(&a);
    assert_eq!(at.shape(), &[3, 2]);
    assert_eq!(at.data(), &[1., 4., 2., 5., 3., 6.]);
    let x = randn(&[2, 3, 4, 5], 1);
    let p = permute(&x, &[2, 0, 3, 1]);
    assert_eq!(p.shape(), &[4, 2, 5, 3]);
    assert_eq!(p.at(&[3, 1, 4, 2]), x.at(&[1, 2, 3, 4]));
    assert_eq!(flatten(&x).shape(), &[2, 60]);
    assert_eq!(reshape(&x, &[6, 20]).data(), x.data());
    let gc = GradCheck::h(0.5);
    gc.run(
        "permute",
        std::slice::from_ref(&x),
        |x| permute(&x[0], &[2, 0, 3, 1]),
        |x, y, g| vec![permute_pullback(&x[0], &[2, 0, 3, 1], y, g)],
    );
    gc.run(
        "flatten",
        std::slice::from_ref(&x),
        |x| flatten(&x[0]),
        |x, y, g| vec![flatten_pullback(&x[0], y, g)],
    );
    gc.run(
        "reshape",
        std::slice::from_ref(&x),
        |x| reshape(&x[0], &[10, 12]),
        |x, y, g| vec![reshape_pullback(&x[0], &[10, 12], y, g)],
    );
    let b = randn(&[3, 4, 5], 2);
    gc.run(
        "transpose",
        &[b],
        |x| transpose(&x[0]),
        |x, y, g| vec![transpose_pullback(&x[0], y, g)],
    );
}

#[test]
#[should_panic(expected = "reshape: cannot reshape [2, 3] (6 elements) to [4, 2] (8 elements)")]
fn reshape_mismatch() {
    let _ = reshape(&Tensor::zeros(&[2, 3]), &[4, 2]);
}

#[test]
#[should_panic(expected = "permute: [0, 0] is not a permutation of the axes of shape [2, 3]")]
fn permute_invalid() {
    let _ = permute(&Tensor::zeros(&[2, 3]), &[0, 0]);
}
