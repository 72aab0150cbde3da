fn copy_gate_grad(x: f64, y: f64) -> (f64, (f64, f64)) {
    let a = x * y;
    let b = x + y;
    let out = a + b;
    let grad_out: f64 = 1.0;
    let grad_a = grad_out;
    let grad_b = grad_out;
    let mut grad_x = grad_b;
    let mut grad_y = grad_b;
    grad_x += grad_a * y;
    grad_y += grad_a * x;
    (out, (grad_x, grad_y))
}
