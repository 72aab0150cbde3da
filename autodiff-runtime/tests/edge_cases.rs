//! Degenerate but valid shapes (empty batches, zero-length dimensions) must work
//! and produce correctly shaped results rather than panicking.

use autodiff_runtime::tensor::*;

#[test]
fn empty_matmul() {
    let y = matmul(&Tensor::zeros(&[0, 3]), &Tensor::ones(&[3, 4]));
    assert_eq!(y.shape(), &[0, 4]);
    // k = 0: the sum over an empty range is 0.
    let y = matmul(&Tensor::zeros(&[2, 0]), &Tensor::zeros(&[0, 3]));
    assert_eq!(y, Tensor::zeros(&[2, 3]));
    let (ga, gb) = matmul_pullback(
        &Tensor::zeros(&[2, 0]),
        &Tensor::zeros(&[0, 3]),
        &y,
        &Tensor::ones(&[2, 3]),
    );
    assert_eq!(ga.shape(), &[2, 0]);
    assert_eq!(gb.shape(), &[0, 3]);
    let y = matmul(&Tensor::zeros(&[0, 2, 3]), &Tensor::zeros(&[0, 3, 4]));
    assert_eq!(y.shape(), &[0, 2, 4]);
}

#[test]
fn empty_batch_conv_and_pool() {
    let x = Tensor::zeros(&[0, 2, 6, 6]);
    let w = Tensor::ones(&[3, 2, 3, 3]);
    let b = Tensor::ones(&[3]);
    let p = Conv2dParams::default();
    let y = conv2d(&x, &w, Some(&b), p);
    assert_eq!(y.shape(), &[0, 3, 4, 4]);
    let (dx, dw, db) = conv2d_pullback(&x, &w, Some(&b), p, &y, &y);
    assert_eq!(dx.shape(), &[0, 2, 6, 6]);
    assert_eq!(dw, Tensor::zeros(&[3, 2, 3, 3]));
    assert_eq!(db.unwrap(), Tensor::zeros(&[3]));
    let pp = Pool2dParams::square(2, 2, 0);
    let m = max_pool2d(&x, pp);
    assert_eq!(m.shape(), &[0, 2, 3, 3]);
    assert_eq!(max_pool2d_pullback(&x, pp, &m, &m).shape(), x.shape());
    let a = avg_pool2d(&x, pp);
    assert_eq!(avg_pool2d_pullback(&x, pp, &a, &a).shape(), x.shape());
}

#[test]
fn zero_length_axes() {
    let x = Tensor::zeros(&[3, 0]);
    assert_eq!(sum(&x).item(), 0.0);
    assert_eq!(sum_axis(&x, 1, false), Tensor::zeros(&[3]));
    assert_eq!(sum_axis(&x, 0, true).shape(), &[1, 0]);
    assert_eq!(softmax(&x).shape(), &[3, 0]);
    assert_eq!(log_softmax(&x).shape(), &[3, 0]);
    assert_eq!(add(&x, &Tensor::zeros(&[0])).shape(), &[3, 0]);
    assert_eq!(sum_to_shape(&x, &[0]).shape(), &[0]);
    assert_eq!(transpose(&x).shape(), &[0, 3]);
    assert_eq!(flatten(&Tensor::zeros(&[2, 0, 4])).shape(), &[2, 0]);
    assert!(mean(&x).item().is_nan());
}

#[test]
#[should_panic(expected = "conv2d: kernel of size 3 (dilation 1) does not fit an input of size 5")]
fn conv_padding_overflow_panics() {
    let _ = conv2d_output_size(5, 3, 1, usize::MAX / 2 + 1, 1);
}

#[test]
#[should_panic(expected = "has more elements than usize can count")]
fn conv_output_size_overflow_panics() {
    let p = Conv2dParams::square(1, 1 << 40, 1, 1);
    let _ = conv2d(
        &Tensor::zeros(&[1, 1, 1, 1]),
        &Tensor::zeros(&[1, 1, 1, 1]),
        None,
        p,
    );
}

#[test]
#[should_panic(expected = "has more elements than usize can count")]
fn shape_overflow_panics() {
    let _ = Tensor::zeros(&[1 << 40, 1 << 40]);
}
