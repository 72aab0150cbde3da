fn x1x2_sin_grad(x1: f64, x2: f64) -> (f64, (f64, f64)) {
    let w1 = x1;
    let w2 = x2;
    let w3 = w1 * w2;
    let w4 = w1.sin();
    let out = w3 + w4;
    let grad_out: f64 = 1.0;
    let grad_w3 = grad_out;
    let grad_w4 = grad_out;
    let mut grad_w1 = grad_w4 * w1.cos();
    grad_w1 += grad_w3 * w2;
    let grad_w2 = grad_w3 * w1;
    let grad_x2 = grad_w2;
    let grad_x1 = grad_w1;
    (out, (grad_x1, grad_x2))
}
