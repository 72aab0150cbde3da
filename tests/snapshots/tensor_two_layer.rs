fn two_layer_grad(
    x: &Tensor,
    y: &Tensor,
    w1: &Tensor,
    w2: &Tensor,
) -> (f32, (Tensor, Tensor)) {
    let t0 = ::autodiff::__rt::tensor::matmul(&x, &w1);
    let h = ::autodiff::__rt::tensor::sigmoid(&t0);
    let y_pred = ::autodiff::__rt::tensor::matmul(&h, &w2);
    let t1 = ::autodiff::__rt::tensor::sub(&y_pred, &y);
    let t2 = ::autodiff::__rt::tensor::sqr(&t1);
    let t3 = ::autodiff::__rt::tensor::sum(&t2);
    let out = ::autodiff::__rt::tensor::Tensor::item(&t3);
    let grad_out: f32 = 1.0;
    let grad_t3 = ::autodiff::__rt::tensor::item_pullback(&t3, out, grad_out);
    let grad_t2 = ::autodiff::__rt::tensor::sum_pullback(&t2, &t3, &grad_t3);
    let grad_t1 = ::autodiff::__rt::tensor::sqr_pullback(&t1, &t2, &grad_t2);
    let grad_y_pred = ::autodiff::__rt::tensor::sub_pullback_lhs(
        &y_pred,
        &y,
        &t1,
        &grad_t1,
    );
    let grad_h = ::autodiff::__rt::tensor::matmul_pullback_lhs(
        &h,
        &w2,
        &y_pred,
        &grad_y_pred,
    );
    let grad_w2 = ::autodiff::__rt::tensor::matmul_pullback_rhs(
        &h,
        &w2,
        &y_pred,
        &grad_y_pred,
    );
    let grad_t0 = ::autodiff::__rt::tensor::sigmoid_pullback(&t0, &h, &grad_h);
    let grad_w1 = ::autodiff::__rt::tensor::matmul_pullback_rhs(&x, &w1, &t0, &grad_t0);
    (out, (grad_w1, grad_w2))
}
