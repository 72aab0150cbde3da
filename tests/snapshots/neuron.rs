fn neuron_grad(
    w0: f64,
    x0: f64,
    w1: f64,
    x1: f64,
    w2: f64,
) -> (f64, (f64, f64, f64, f64, f64)) {
    let s0 = w0 * x0;
    let s1 = w1 * x1;
    let s2 = s0 + s1;
    let s3 = s2 + w2;
    let out = sigmoid(s3);
    let grad_out: f64 = 1.0;
    let grad_s3 = grad_out * (1.0 - out) * out;
    let grad_s2 = grad_s3;
    let grad_w2 = grad_s3;
    let grad_s0 = grad_s2;
    let grad_s1 = grad_s2;
    let grad_w1 = grad_s1 * x1;
    let grad_x1 = grad_s1 * w1;
    let grad_w0 = grad_s0 * x0;
    let grad_x0 = grad_s0 * w0;
    (out, (grad_w0, grad_x0, grad_w1, grad_x1, grad_w2))
}
