fn logsumexp_held_grad(x: &[f64]) -> (f64, ::std::vec::Vec<f64>) {
    let mut t5 = ::core::default::Default::default();
    let mut tape_t5 = ::autodiff::__rt::Tape::new();
    let mut mx = x[0];
    let t0 = x.len();
    {
        let window_count_6 = ::core::iter::Iterator::size_hint(&(1..t0)).0;
        let window_start_6 = 1;
        let x = ::autodiff::__rt::window(&x[..], window_start_6, window_count_6);
        for window_at_6 in 0..window_count_6 {
            let t1 = x[window_at_6];
            let mx_1 = mx.max(t1);
            mx = mx_1;
        }
    }
    let mx_2 = stop_gradient(mx);
    let mut semx = 0.0;
    let t2 = x.len();
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        tape_t5.reserve(iterations);
    }
    {
        let window_count_15 = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        let window_start_15 = 0;
        let x = ::autodiff::__rt::window(&x[..], window_start_15, window_count_15);
        for window_at_15 in 0..window_count_15 {
            let t3 = x[window_at_15];
            let t4 = t3 - mx_2;
            ::autodiff::__rt::push_reserved(&mut tape_t5, t5);
            t5 = t4.exp();
            let semx_1 = semx + t5;
            semx = semx_1;
        }
    }
    let t6 = semx.ln();
    let out = t6 + mx_2;
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_semx = 0.0;
    let grad_out: f64 = 1.0;
    let grad_t6 = grad_out;
    grad_semx += grad_t6 / semx;
    {
        let window_count_15 = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        let window_start_15 = 0;
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_15,
            window_count_15,
        );
        for window_at_15 in (0..window_count_15).rev() {
            let grad_semx_1 = grad_semx;
            grad_semx = 0.0;
            grad_semx += grad_semx_1;
            let grad_t5 = grad_semx_1;
            let grad_t4 = grad_t5 * t5;
            t5 = tape_t5.pop().unwrap();
            let grad_t3 = grad_t4;
            grad_x[window_at_15] += grad_t3;
        }
    }
    (out, grad_x)
}
