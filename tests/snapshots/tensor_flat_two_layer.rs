fn flat_two_layer_grad(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    x: &Tensor,
    labels: &[usize],
) -> (f32, (Tensor, Tensor, Tensor, Tensor)) {
    let t0 = ::autodiff::__rt::tensor::matmul(&x, &w1);
    let t1 = ::autodiff::__rt::tensor::add(&t0, &b1);
    let h1 = ::autodiff::__rt::tensor::relu(&t1);
    let t2 = ::autodiff::__rt::tensor::matmul(&h1, &w2);
    let scores = ::autodiff::__rt::tensor::add(&t2, &b2);
    let t3 = ::autodiff::__rt::tensor::softmax_cross_entropy(&scores, labels);
    let out = ::autodiff::__rt::tensor::Tensor::item(&t3);
    let grad_out: f32 = 1.0;
    let grad_t3 = ::autodiff::__rt::tensor::item_pullback(&t3, out, grad_out);
    let grad_scores = ::autodiff::__rt::tensor::softmax_cross_entropy_pullback(
        &scores,
        labels,
        &t3,
        &grad_t3,
    );
    let grad_t2 = ::autodiff::__rt::tensor::add_pullback_lhs(
        &t2,
        &b2,
        &scores,
        &grad_scores,
    );
    let grad_b2 = ::autodiff::__rt::tensor::add_pullback_rhs(
        &t2,
        &b2,
        &scores,
        &grad_scores,
    );
    let grad_h1 = ::autodiff::__rt::tensor::matmul_pullback_lhs(&h1, &w2, &t2, &grad_t2);
    let grad_w2 = ::autodiff::__rt::tensor::matmul_pullback_rhs(&h1, &w2, &t2, &grad_t2);
    let grad_t1 = ::autodiff::__rt::tensor::relu_pullback(&t1, &h1, &grad_h1);
    let grad_t0 = ::autodiff::__rt::tensor::add_pullback_lhs(&t0, &b1, &t1, &grad_t1);
    let grad_b1 = ::autodiff::__rt::tensor::add_pullback_rhs(&t0, &b1, &t1, &grad_t1);
    let grad_w1 = ::autodiff::__rt::tensor::matmul_pullback_rhs(&x, &w1, &t0, &grad_t0);
    (out, (grad_w1, grad_b1, grad_w2, grad_b2))
}
