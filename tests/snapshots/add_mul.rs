fn add_mul_grad(x: f64, y: f64, z: f64) -> (f64, (f64, f64, f64)) {
    let q = x + y;
    let out = q * z;
    let grad_out: f64 = 1.0;
    let grad_q = grad_out * z;
    let grad_z = grad_out * q;
    let grad_x = grad_q;
    let grad_y = grad_q;
    (out, (grad_x, grad_y, grad_z))
}
