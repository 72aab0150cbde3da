//! The per-argument pullbacks (`*_pullback_lhs/rhs`, `conv2d_pullback_input/
//! weight/bias`) must give exactly the joint pullback's components: generated code
//! picks one or the other depending on which arguments are active, and a gradient
//! must not change with that choice.

use autodiff_runtime::tensor::*;

/// Bit-level equality, so a NaN or a signed-zero difference would also show.
fn same_bits(what: &str, a: &Tensor, b: &Tensor) {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    let differ = a
        .data()
        .iter()
        .zip(b.data())
        .filter(|(x, y)| x.to_bits() != y.to_bits())
        .count();
    assert_eq!(differ, 0, "{what}: {differ} elements differ");
}

#[test]
fn matmul_split_matches_joint() {
    let cases: [(&[usize], &[usize]); 4] = [
        (&[64, 100], &[100, 10]),
        (&[7, 3], &[3, 5]),
        (&[4, 6, 5], &[4, 5, 3]),
        (&[1, 2, 9], &[1, 9, 4]),
    ];
    for (i, (sa, sb)) in cases.into_iter().enumerate() {
        let a = randn(sa, i as u64);
        let b = randn(sb, 10 + i as u64);
        let y = matmul(&a, &b);
        let g = randn(y.shape(), 20 + i as u64);
        for threads in [1, 2] {
            with_threads(threads, || {
                let (ga, gb) = matmul_pullback(&a, &b, &y, &g);
                same_bits(
                    &format!("lhs case {i}"),
                    &matmul_pullback_lhs(&a, &b, &y, &g),
                    &ga,
                );
                same_bits(
                    &format!("rhs case {i}"),
                    &matmul_pullback_rhs(&a, &b, &y, &g),
                    &gb,
                );
            });
        }
    }
}

#[test]
fn matmul_split_empty() {
    let (a, b) = (Tensor::zeros(&[2, 0]), Tensor::zeros(&[0, 3]));
    let y = matmul(&a, &b);
    let g = Tensor::ones(&[2, 3]);
    assert_eq!(matmul_pullback_lhs(&a, &b, &y, &g).shape(), &[2, 0]);
    assert_eq!(matmul_pullback_rhs(&a, &b, &y, &g).shape(), &[0, 3]);
}

#[test]
#[should_panic(
    expected = "matmul_pullback_lhs: [2, 3] x [3, 4]: grad_y has shape [2, 3], expected [2, 4]"
)]
fn matmul_lhs_bad_grad() {
    let (a, b) = (Tensor::ones(&[2, 3]), Tensor::ones(&[3, 4]));
    let _ = matmul_pullback_lhs(&a, &b, &matmul(&a, &b), &Tensor::ones(&[2, 3]));
}

#[test]
#[should_panic(expected = "matmul_pullback_rhs: [2, 3] x [4, 4]: inner dimensions 3 and 4 differ")]
fn matmul_rhs_bad_operands() {
    let (a, b) = (Tensor::ones(&[2, 3]), Tensor::ones(&[4, 4]));
    let _ = matmul_pullback_rhs(&a, &b, &Tensor::ones(&[2, 4]), &Tensor::ones(&[2, 4]));
}

fn conv_cases() -> Vec<([usize; 4], [usize; 4], Conv2dParams)> {
    vec![
        ([5, 1, 28, 28], [20, 1, 5, 5], Conv2dParams::default()),
        ([3, 4, 9, 9], [6, 4, 3, 3], Conv2dParams::square(1, 1, 1, 1)),
        (
            [2, 4, 10, 11],
            [6, 2, 3, 2],
            Conv2dParams::square(2, 1, 2, 2),
        ),
        ([1, 3, 7, 7], [2, 3, 3, 3], Conv2dParams::square(3, 2, 1, 1)),
    ]
}

#[test]
fn conv_split_matches_joint() {
    for (i, (xs, ws, p)) in conv_cases().into_iter().enumerate() {
        let x = randn(&xs, i as u64);
        let w = randn(&ws, 100 + i as u64);
        let b = randn(&[ws[0]], 200 + i as u64);
        let y = conv2d(&x, &w, Some(&b), p);
        let g = randn(y.shape(), 300 + i as u64);
        for threads in [1, 2] {
            with_threads(threads, || {
                let (dx, dw, db) = conv2d_pullback(&x, &w, Some(&b), p, &y, &g);
                let bias = Some(&b);
                let what = |part| format!("{part} case {i} threads {threads}");
                same_bits(
                    &what("input"),
                    &conv2d_pullback_input(&x, &w, bias, p, &y, &g),
                    &dx,
                );
                same_bits(
                    &what("weight"),
                    &conv2d_pullback_weight(&x, &w, bias, p, &y, &g),
                    &dw,
                );
                same_bits(
                    &what("bias"),
                    &conv2d_pullback_bias(&x, &w, bias, p, &y, &g),
                    &db.unwrap(),
                );
                // Without a bias the other two are unchanged.
                same_bits(
                    &what("input, no bias"),
                    &conv2d_pullback_input(&x, &w, None, p, &y, &g),
                    &dx,
                );
                same_bits(
                    &what("weight, no bias"),
                    &conv2d_pullback_weight(&x, &w, None, p, &y, &g),
                    &dw,
                );
            });
        }
    }
}

#[test]
fn conv_split_empty_batch() {
    let x = Tensor::zeros(&[0, 2, 6, 6]);
    let w = Tensor::ones(&[3, 2, 3, 3]);
    let b = Tensor::ones(&[3]);
    let p = Conv2dParams::default();
    let y = conv2d(&x, &w, Some(&b), p);
    assert_eq!(
        conv2d_pullback_input(&x, &w, Some(&b), p, &y, &y).shape(),
        &[0, 2, 6, 6]
    );
    assert_eq!(
        conv2d_pullback_weight(&x, &w, Some(&b), p, &y, &y),
        Tensor::zeros(&[3, 2, 3, 3])
    );
    assert_eq!(
        conv2d_pullback_bias(&x, &w, Some(&b), p, &y, &y),
        Tensor::zeros(&[3])
    );
}

#[test]
#[should_panic(
    expected = "conv2d_pullback_bias: input [1, 1, 4, 4], weight [2, 1, 3, 3]: \
                           the convolution has no bias"
)]
fn conv_bias_without_bias() {
    let x = Tensor::ones(&[1, 1, 4, 4]);
    let w = Tensor::ones(&[2, 1, 3, 3]);
    let p = Conv2dParams::default();
    let y = conv2d(&x, &w, None, p);
    let _ = conv2d_pullback_bias(&x, &w, None, p, &y, &y);
}

#[test]
#[should_panic(
    expected = "conv2d_pullback_weight: input [1, 1, 4, 4], weight [2, 1, 3, 3]: \
                           grad_y has shape [1, 2, 3, 3], expected [1, 2, 2, 2]"
)]
fn conv_weight_bad_grad() {
    let x = Tensor::ones(&[1, 1, 4, 4]);
    let w = Tensor::ones(&[2, 1, 3, 3]);
    let p = Conv2dParams::default();
    let y = conv2d(&x, &w, None, p);
    let _ = conv2d_pullback_weight(&x, &w, None, p, &y, &Tensor::ones(&[1, 2, 3, 3]));
}

type Fwd = fn(&Tensor, &Tensor) -> Tensor;
type Joint = fn(&Tensor, &Tensor, &Tensor, &Tensor) -> (Tensor, Tensor);
type Side = fn(&Tensor, &Tensor, &Tensor, &Tensor) -> Tensor;

#[test]
fn elementwise_split_matches_joint() {
    let ops: [(&str, Fwd, Joint, Side, Side); 6] = [
        ("add", add, add_pullback, add_pullback_lhs, add_pullback_rhs),
        ("sub", sub, sub_pullback, sub_pullback_lhs, sub_pullback_rhs),
        ("mul", mul, mul_pullback, mul_pullback_lhs, mul_pullback_rhs),
        ("div", div, div_pullback, div_pullback_lhs, div_pullback_rhs),
        (
            "maximum",
            maximum,
            maximum_pullback,
            maximum_pullback_lhs,
            maximum_pullback_rhs,
        ),
        (
            "minimum",
            minimum,
            minimum_pullback,
            minimum_pullback_lhs,
            minimum_pullback_rhs,
        ),
    ];
    let shapes: [(&[usize], &[usize]); 5] = [
        (&[3, 4], &[3, 4]),
        (&[3, 4], &[4]),
        (&[1, 4], &[3, 1]),
        (&[2, 3, 4, 5], &[1, 3, 1, 1]),
        (&[], &[2, 2]),
    ];
    for (name, f, joint, lhs, rhs) in ops {
        for (i, (sa, sb)) in shapes.into_iter().enumerate() {
            let a = randn(sa, i as u64);
            // Away from zero so div is well conditioned; some ties for max/min.
            let mut b = randn(sb, 50 + i as u64).map(|v| v.signum() * (v.abs() + 0.5));
            if a.shape() == b.shape() {
                b.data_mut()[0] = a.data()[0];
            }
            let y = f(&a, &b);
            let g = randn(y.shape(), 99 + i as u64);
            let (ga, gb) = joint(&a, &b, &y, &g);
            same_bits(
                &format!("{name} lhs {sa:?} {sb:?}"),
                &lhs(&a, &b, &y, &g),
                &ga,
            );
            same_bits(
                &format!("{name} rhs {sa:?} {sb:?}"),
                &rhs(&a, &b, &y, &g),
                &gb,
            );
        }
    }
}
