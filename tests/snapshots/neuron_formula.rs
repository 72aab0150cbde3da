fn neuron_formula_grad(
    w0: f64,
    x0: f64,
    w1: f64,
    x1: f64,
    w2: f64,
) -> (f64, (f64, f64, f64, f64, f64)) {
    let t0 = w0 * x0;
    let t1 = w1 * x1;
    let t2 = t0 + t1;
    let t3 = t2 + w2;
    let t4 = -t3;
    let t5 = t4.exp();
    let t6 = 1.0 + t5;
    let out = 1.0 / t6;
    let grad_out: f64 = 1.0;
    let grad_t6 = -grad_out * out / t6;
    let grad_t5 = grad_t6;
    let grad_t4 = grad_t5 * t5;
    let grad_t3 = -grad_t4;
    let grad_t2 = grad_t3;
    let grad_w2 = grad_t3;
    let grad_t0 = grad_t2;
    let grad_t1 = grad_t2;
    let grad_w1 = grad_t1 * x1;
    let grad_x1 = grad_t1 * w1;
    let grad_w0 = grad_t0 * x0;
    let grad_x0 = grad_t0 * w0;
    (out, (grad_w0, grad_x0, grad_w1, grad_x1, grad_w2))
}
