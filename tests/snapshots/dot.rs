fn dot_grad(
    w: &[f64],
    x: &[f64],
) -> (f64, (::std::vec::Vec<f64>, ::std::vec::Vec<f64>)) {
    let mut s = 0.0;
    let t0 = w.len();
    let mut grad_w = ::autodiff::__rt::zeros_like(&w);
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut fused_grad_s: f64 = 1.0;
    for i in 0..t0 {
        let t1 = w[i];
        let t2 = x[i];
        let t3 = t1 * t2;
        let s_1 = s + t3;
        s = s_1;
        {
            let grad_s_1 = fused_grad_s;
            fused_grad_s = 0.0;
            fused_grad_s += grad_s_1;
            let grad_t3 = grad_s_1;
            let t2 = x[i];
            let grad_t1 = grad_t3 * t2;
            let t1 = w[i];
            let grad_t2 = grad_t3 * t1;
            grad_x[i] += grad_t2;
            grad_w[i] += grad_t1;
        }
    }
    (s, (grad_w, grad_x))
}
