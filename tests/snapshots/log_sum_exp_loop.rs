fn log_sum_exp_grad(x: &[f64]) -> (f64, ::std::vec::Vec<f64>) {
    let mut t4 = ::core::default::Default::default();
    let mut tape_m = ::autodiff::__rt::Tape::new();
    let mut tape_t4 = ::autodiff::__rt::Tape::new();
    let mut m = x[0];
    let t0 = x.len();
    {
        let iterations = ::core::iter::Iterator::size_hint(&(1..t0)).0;
        tape_m.reserve(iterations);
    }
    {
        let window_count_6 = ::core::iter::Iterator::size_hint(&(1..t0)).0;
        let window_start_6 = 1;
        let x = ::autodiff::__rt::window(&x[..], window_start_6, window_count_6);
        for window_at_6 in 0..window_count_6 {
            let t1 = x[window_at_6];
            let m_1 = m.max(t1);
            ::autodiff::__rt::push_reserved(&mut tape_m, m);
            m = m_1;
        }
    }
    let mut s = 0.0;
    let t2 = x.len();
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        tape_t4.reserve(iterations);
    }
    {
        let window_count_14 = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        let window_start_14 = 0;
        let x = ::autodiff::__rt::window(&x[..], window_start_14, window_count_14);
        for window_at_14 in 0..window_count_14 {
            let xi = x[window_at_14];
            let t3 = xi - m;
            ::autodiff::__rt::push_reserved(&mut tape_t4, t4);
            t4 = t3.exp();
            let s_1 = s + t4;
            s = s_1;
        }
    }
    let t5 = s.ln();
    let out = m + t5;
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_m = 0.0;
    let mut grad_s = 0.0;
    let grad_out: f64 = 1.0;
    grad_m += grad_out;
    let grad_t5 = grad_out;
    grad_s += grad_t5 / s;
    {
        let window_count_14 = ::core::iter::Iterator::size_hint(&(0..t2)).0;
        let window_start_14 = 0;
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_14,
            window_count_14,
        );
        for window_at_14 in (0..window_count_14).rev() {
            let grad_s_1 = grad_s;
            grad_s = 0.0;
            grad_s += grad_s_1;
            let grad_t4 = grad_s_1;
            let grad_t3 = grad_t4 * t4;
            t4 = tape_t4.pop().unwrap();
            let grad_xi = grad_t3;
            grad_m += -grad_t3;
            grad_x[window_at_14] += grad_xi;
        }
    }
    {
        let window_count_6 = ::core::iter::Iterator::size_hint(&(1..t0)).0;
        let window_start_6 = 1;
        let x = ::autodiff::__rt::window(&x[..], window_start_6, window_count_6);
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_6,
            window_count_6,
        );
        for window_at_6 in (0..window_count_6).rev() {
            let grad_m_1 = grad_m;
            grad_m = 0.0;
            m = tape_m.pop().unwrap();
            let t1 = x[window_at_6];
            grad_m += grad_m_1 * ::autodiff::__rt::max_share(m, t1);
            let grad_t1 = grad_m_1 * ::autodiff::__rt::max_share(t1, m);
            grad_x[window_at_6] += grad_t1;
        }
    }
    grad_x[0] += grad_m;
    (out, grad_x)
}
