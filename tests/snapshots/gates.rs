fn gates_grad(x: f64, y: f64, z: f64, w: f64) -> (f64, (f64, f64, f64, f64)) {
    let m = x * y;
    let r = z.max(w);
    let s = m + r;
    let out = s * 2.0;
    let grad_out: f64 = 1.0;
    let grad_s = grad_out * 2.0;
    let grad_m = grad_s;
    let grad_r = grad_s;
    let grad_z = grad_r * ::autodiff::__rt::max_share(z, w);
    let grad_w = grad_r * ::autodiff::__rt::max_share(w, z);
    let grad_x = grad_m * y;
    let grad_y = grad_m * x;
    (out, (grad_x, grad_y, grad_z, grad_w))
}
