//! Every `Tensor` method gives exactly what its free function gives.

use autodiff_runtime::tensor::*;

#[test]
fn methods_forward_to_free_functions() {
    let x = randn(&[4, 6], 1);
    let pos = x.map(|v| v.abs() + 0.1);
    let w = randn(&[6, 3], 2);
    let z = randn(&[4, 6], 3);
    let x4 = randn(&[2, 3, 2, 2], 4);
    let unary: [(&str, Tensor, Tensor); 13] = [
        ("relu", x.relu(), relu(&x)),
        ("sigmoid", x.sigmoid(), sigmoid(&x)),
        ("tanh", x.tanh(), tanh(&x)),
        ("exp", x.exp(), exp(&x)),
        ("ln", pos.ln(), ln(&pos)),
        ("sqrt", pos.sqrt(), sqrt(&pos)),
        ("sqr", x.sqr(), sqr(&x)),
        ("sum", x.sum(), sum(&x)),
        ("mean", x.mean(), mean(&x)),
        ("flatten", x4.flatten(), flatten(&x4)),
        ("transpose", x.transpose(), transpose(&x)),
        ("softmax", x.softmax(), softmax(&x)),
        ("log_softmax", x.log_softmax(), log_softmax(&x)),
    ];
    for (name, m, f) in unary {
        assert_eq!(m, f, "{name}");
    }
    assert_eq!(x.matmul(&w), matmul(&x, &w));
    assert_eq!(x.leaky_relu(0.1), leaky_relu(&x, 0.1));
    assert_eq!(pos.powf(1.5), powf(&pos, 1.5));
    assert_eq!(x.sum_axis(1, true), sum_axis(&x, 1, true));
    assert_eq!(x.mean_axis(0, false), mean_axis(&x, 0, false));
    assert_eq!(x.reshape(&[2, 12]), reshape(&x, &[2, 12]));
    assert_eq!(x4.permute(&[0, 2, 3, 1]), permute(&x4, &[0, 2, 3, 1]));
    assert_eq!(x.maximum(&z), maximum(&x, &z));
    assert_eq!(x.minimum(&z), minimum(&x, &z));
    // The chain the methods exist for.
    assert_eq!(x.matmul(&w).relu(), relu(&matmul(&x, &w)));
}

#[test]
fn zeros_like_and_accumulation() {
    let x = randn(&[2, 3], 5);
    let mut acc = Tensor::zeros_like(&x);
    acc += &x;
    acc += x.clone();
    assert_eq!(acc, &x * 2.0);
}
