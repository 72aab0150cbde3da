fn hw0_grad(
    x1: f64,
    x2: f64,
    x3: f64,
    x4: f64,
    x5: f64,
    x6: f64,
) -> (f64, (f64, f64, f64, f64, f64, f64)) {
    let t0 = x1.max(x2);
    let t1 = t0 * x3;
    let t2 = t1 / x4;
    let t3 = x5 + x6;
    let t4 = t2 - t3;
    let t5 = 5.0 * t4;
    let t6 = t5.ln();
    let t7 = sigmoid(t6);
    let out = t7 + 0.5;
    let grad_out: f64 = 1.0;
    let grad_t7 = grad_out;
    let grad_t6 = grad_t7 * (1.0 - t7) * t7;
    let grad_t5 = grad_t6 / t5;
    let grad_t4 = grad_t5 * 5.0;
    let grad_t2 = grad_t4;
    let grad_t3 = -grad_t4;
    let grad_x5 = grad_t3;
    let grad_x6 = grad_t3;
    let grad_t1 = grad_t2 / x4;
    let grad_x4 = -grad_t2 * t2 / x4;
    let grad_t0 = grad_t1 * x3;
    let grad_x3 = grad_t1 * t0;
    let grad_x1 = grad_t0 * ::autodiff::__rt::max_share(x1, x2);
    let grad_x2 = grad_t0 * ::autodiff::__rt::max_share(x2, x1);
    (out, (grad_x1, grad_x2, grad_x3, grad_x4, grad_x5, grad_x6))
}
