//! Construction, access, printing, comparison, seeded init and thread control.

use autodiff_runtime::tensor::*;

#[test]
fn constructors_and_access() {
    let t = Tensor::from_vec((0..24).map(|v| v as f32).collect(), &[2, 3, 4]);
    assert_eq!(t.shape(), &[2, 3, 4]);
    assert_eq!(t.rank(), 3);
    assert_eq!(t.numel(), 24);
    assert_eq!(t.at(&[1, 2, 3]), 23.0);
    assert_eq!(t.at(&[1, 0, 2]), 14.0);
    assert_eq!(Tensor::zeros(&[2, 2]).data(), &[0.0; 4]);
    assert_eq!(Tensor::ones(&[3]).data(), &[1.0; 3]);
    assert_eq!(Tensor::full(&[2], 7.5).data(), &[7.5, 7.5]);
    assert_eq!(Tensor::zeros_like(&t).shape(), t.shape());
    let s = Tensor::scalar(3.0);
    assert_eq!(s.rank(), 0);
    assert_eq!(s.at(&[]), 3.0);
    assert_eq!(s.item(), 3.0);
    assert_eq!(t.to_vec().len(), 24);
    // Clone is deep.
    let mut c = t.clone();
    c.data_mut()[0] = 100.0;
    assert_eq!(t.data()[0], 0.0);
}

#[test]
#[should_panic(expected = "from_vec: data of length 5 does not fit shape [2, 3] (6 elements)")]
fn from_vec_mismatch() {
    let _ = Tensor::from_vec(vec![0.0; 5], &[2, 3]);
}

#[test]
#[should_panic(expected = "zeros: shape [1, 1, 1, 1, 1] has rank 5, at most 4 is supported")]
fn rank_limit() {
    let _ = Tensor::zeros(&[1, 1, 1, 1, 1]);
}

#[test]
#[should_panic(expected = "at: index [0, 3] out of bounds for shape [2, 3]")]
fn at_out_of_bounds() {
    let _ = Tensor::zeros(&[2, 3]).at(&[0, 3]);
}

#[test]
fn display_is_readable_and_truncated() {
    let t = Tensor::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]);
    let s = t.to_string();
    assert!(s.starts_with("Tensor(shape [2, 3])"), "{s}");
    assert!(s.contains("[[1, 2, 3],\n [4, 5, 6]]"), "{s}");
    let big = Tensor::zeros(&[100, 100]);
    let s = big.to_string();
    assert!(s.contains("..."));
    assert!(s.len() < 500, "{} chars", s.len());
    assert_eq!(Tensor::scalar(2.5).to_string(), "Tensor(shape [])\n2.5");
    assert_eq!(format!("{:?}", t), format!("{}", t));
    let third = Tensor::from_vec(vec![1.0 / 3.0, 2.0], &[2]);
    assert_eq!(format!("{third:.2}"), "Tensor(shape [2])\n[0.33, 2.00]");
}

#[test]
fn approx_comparisons() {
    let a = Tensor::from_vec(vec![1.0, 2.0], &[2]);
    let b = Tensor::from_vec(vec![1.0, 2.0 + 1e-6], &[2]);
    assert!(a.allclose(&b, 1e-5, 0.0));
    assert!(!a.allclose(&b, 0.0, 0.0));
    assert!(!a.allclose(&Tensor::from_vec(vec![1.0, 2.0], &[1, 2]), 1.0, 1.0));
    approx::assert_abs_diff_eq!(a, b, epsilon = 1e-5);
    approx::assert_relative_eq!(a, b, max_relative = 1e-5);
    assert!((a.max_abs_diff(&b) - 1e-6).abs() < 1e-6);
}

#[test]
fn seeded_random_is_deterministic() {
    assert_eq!(randn(&[10], 7), randn(&[10], 7));
    assert_ne!(randn(&[10], 7), randn(&[10], 8));
    let n = randn(&[20000], 3);
    let mean = n.data().iter().map(|&v| v as f64).sum::<f64>() / 20000.0;
    let var = n
        .data()
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / 20000.0;
    assert!(mean.abs() < 0.03, "{mean}");
    assert!((var - 1.0).abs() < 0.05, "{var}");
    let u = rand_uniform(&[1000], -2.0, 3.0, 1);
    assert!(u.data().iter().all(|&v| (-2.0..3.0).contains(&v)));
}

#[test]
fn initialisers_have_the_right_scale() {
    // [in, out] = [400, 300]: kaiming std = sqrt(2/400)
    let k = kaiming_normal(&[400, 300], 1);
    let var = k.data().iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / k.numel() as f64;
    assert!((var / (2.0 / 400.0) - 1.0).abs() < 0.05, "{var}");
    // conv [O, C, KH, KW] = [16, 8, 3, 3]: fan_in 72
    let k = kaiming_normal(&[16, 8, 3, 3], 2);
    let var = k.data().iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / k.numel() as f64;
    assert!((var / (2.0 / 72.0) - 1.0).abs() < 0.1, "{var}");
    let x = xavier_uniform(&[100, 50], 3);
    let bound = (6.0f32 / 150.0).sqrt();
    assert!(x.data().iter().all(|v| v.abs() <= bound));
    assert!(x.data().iter().any(|v| v.abs() > 0.9 * bound));
}

#[test]
#[should_panic(expected = "kaiming_normal: needs a rank-2 [in, out] or rank-4")]
fn init_rank() {
    let _ = kaiming_normal(&[3], 0);
}

#[test]
fn thread_control() {
    assert_eq!(with_threads(1, num_threads), 1);
    assert_eq!(with_threads(2, num_threads), 2);
    assert_eq!(with_threads(3, || with_threads(2, num_threads)), 2);
    // The global setting applies outside `with_threads` only. Other tests in this
    // binary may run meanwhile; any thread count gives them the same results.
    set_num_threads(1);
    assert_eq!(num_threads(), 1);
    assert_eq!(with_threads(2, num_threads), 2);
    let a = randn(&[64, 64], 1);
    let single = matmul(&a, &a);
    set_num_threads(2);
    assert_eq!(num_threads(), 2);
    assert!(matmul(&a, &a).allclose(&single, 1e-5, 1e-5));
}

#[test]
#[should_panic(expected = "set_num_threads: thread count must be at least 1")]
fn zero_threads() {
    set_num_threads(0);
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_round_trip() {
    use ndarray::ArrayD;
    let t = randn(&[2, 3, 4], 1);
    let a: ArrayD<f32> = (&t).into();
    assert_eq!(a.shape(), &[2, 3, 4]);
    assert_eq!(a[[1, 2, 3]], t.at(&[1, 2, 3]));
    let back: Tensor = a.clone().into();
    assert_eq!(back, t);
    // Non-standard layouts are copied in logical order.
    let transposed = a.permuted_axes(vec![2, 1, 0]);
    let tt: Tensor = transposed.into();
    assert_eq!(tt.shape(), &[4, 3, 2]);
    assert_eq!(tt.at(&[3, 2, 1]), t.at(&[1, 2, 3]));
}
