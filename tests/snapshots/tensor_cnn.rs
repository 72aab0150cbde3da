fn cnn_grad(
    w1: &Tensor,
    b1: &Tensor,
    w2: &Tensor,
    b2: &Tensor,
    w3: &Tensor,
    b3: &Tensor,
    x: &Tensor,
    labels: &[usize],
) -> (f32, (Tensor, Tensor, Tensor, Tensor, Tensor, Tensor)) {
    let same = Conv2dParams::square(1, 1, 1, 1);
    let pool = Pool2dParams::square(2, 2, 0);
    let t0 = ::autodiff::__rt::tensor::conv2d(
        &x,
        &w1,
        ::core::option::Option::Some(&b1),
        same,
    );
    let t1 = ::autodiff::__rt::tensor::relu(&t0);
    let h1 = ::autodiff::__rt::tensor::max_pool2d(&t1, pool);
    let t2 = ::autodiff::__rt::tensor::conv2d(
        &h1,
        &w2,
        ::core::option::Option::Some(&b2),
        same,
    );
    let t3 = ::autodiff::__rt::tensor::relu(&t2);
    let h2 = ::autodiff::__rt::tensor::max_pool2d(&t3, pool);
    let t4 = ::autodiff::__rt::tensor::flatten(&h2);
    let t5 = ::autodiff::__rt::tensor::matmul(&t4, &w3);
    let scores = ::autodiff::__rt::tensor::add(&t5, &b3);
    let t6 = ::autodiff::__rt::tensor::softmax_cross_entropy(&scores, labels);
    let out = ::autodiff::__rt::tensor::Tensor::item(&t6);
    let grad_out: f32 = 1.0;
    let grad_t6 = ::autodiff::__rt::tensor::item_pullback(&t6, out, grad_out);
    let grad_scores = ::autodiff::__rt::tensor::softmax_cross_entropy_pullback(
        &scores,
        labels,
        &t6,
        &grad_t6,
    );
    let grad_t5 = ::autodiff::__rt::tensor::add_pullback_lhs(
        &t5,
        &b3,
        &scores,
        &grad_scores,
    );
    let grad_b3 = ::autodiff::__rt::tensor::add_pullback_rhs(
        &t5,
        &b3,
        &scores,
        &grad_scores,
    );
    let grad_t4 = ::autodiff::__rt::tensor::matmul_pullback_lhs(&t4, &w3, &t5, &grad_t5);
    let grad_w3 = ::autodiff::__rt::tensor::matmul_pullback_rhs(&t4, &w3, &t5, &grad_t5);
    let grad_h2 = ::autodiff::__rt::tensor::flatten_pullback(&h2, &t4, &grad_t4);
    let grad_t3 = ::autodiff::__rt::tensor::max_pool2d_pullback(
        &t3,
        pool,
        &h2,
        &grad_h2,
    );
    let grad_t2 = ::autodiff::__rt::tensor::relu_pullback(&t2, &t3, &grad_t3);
    let grad_h1 = ::autodiff::__rt::tensor::conv2d_pullback_input(
        &h1,
        &w2,
        ::core::option::Option::Some(&b2),
        same,
        &t2,
        &grad_t2,
    );
    let grad_w2 = ::autodiff::__rt::tensor::conv2d_pullback_weight(
        &h1,
        &w2,
        ::core::option::Option::Some(&b2),
        same,
        &t2,
        &grad_t2,
    );
    let grad_b2 = ::autodiff::__rt::tensor::conv2d_pullback_bias(
        &h1,
        &w2,
        ::core::option::Option::Some(&b2),
        same,
        &t2,
        &grad_t2,
    );
    let grad_t1 = ::autodiff::__rt::tensor::max_pool2d_pullback(
        &t1,
        pool,
        &h1,
        &grad_h1,
    );
    let grad_t0 = ::autodiff::__rt::tensor::relu_pullback(&t0, &t1, &grad_t1);
    let grad_w1 = ::autodiff::__rt::tensor::conv2d_pullback_weight(
        &x,
        &w1,
        ::core::option::Option::Some(&b1),
        same,
        &t0,
        &grad_t0,
    );
    let grad_b1 = ::autodiff::__rt::tensor::conv2d_pullback_bias(
        &x,
        &w1,
        ::core::option::Option::Some(&b1),
        same,
        &t0,
        &grad_t0,
    );
    (out, (grad_w1, grad_b1, grad_w2, grad_b2, grad_w3, grad_b3))
}
