fn steps_grad(
    x: &[f64],
    mu: &[f64],
    s: &[f64],
) -> (f64, (::std::vec::Vec<f64>, ::std::vec::Vec<f64>, ::std::vec::Vec<f64>)) {
    let mut t5 = ::core::default::Default::default();
    let mut t8 = ::core::default::Default::default();
    let mut tape_q_elem = ::autodiff::__rt::Tape::new();
    let mut tape_t5 = ::autodiff::__rt::Tape::new();
    let mut tape_t8 = ::autodiff::__rt::Tape::new();
    let n = x.len();
    let mut c = ::std::vec![0.0; n];
    let mut q = ::std::vec![0.0; n];
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..n)).0;
        tape_t5.reserve(iterations);
        tape_q_elem.reserve(iterations.saturating_mul(2usize));
        tape_t8.reserve(iterations);
    }
    {
        let window_count_10 = ::core::iter::Iterator::size_hint(&(0..n)).0;
        let window_start_10 = 0;
        let x = ::autodiff::__rt::window(&x[..], window_start_10, window_count_10);
        let mu = ::autodiff::__rt::window(&mu[..], window_start_10, window_count_10);
        let c = ::autodiff::__rt::window_mut(
            &mut c[..],
            window_start_10,
            window_count_10,
        );
        let s = ::autodiff::__rt::window(&s[..], window_start_10, window_count_10);
        let q = ::autodiff::__rt::window_mut(
            &mut q[..],
            window_start_10,
            window_count_10,
        );
        for window_at_10 in 0..window_count_10 {
            let t0 = x[window_at_10];
            let t1 = mu[window_at_10];
            let t2 = t0 - t1;
            c[window_at_10] = t2;
            let t3 = s[window_at_10];
            let t4 = 0.5 * t3;
            ::autodiff::__rt::push_reserved(&mut tape_t5, t5);
            t5 = t4.exp();
            let t6 = c[window_at_10];
            let t7 = t5 * t6;
            ::autodiff::__rt::push_reserved(&mut tape_q_elem, q[window_at_10]);
            q[window_at_10] = t7;
            ::autodiff::__rt::push_reserved(&mut tape_t8, t8);
            t8 = q[window_at_10];
            let t10 = t8 * t6;
            let t11 = t10.sin();
            let t13 = t11 + t8;
            ::autodiff::__rt::push_reserved(&mut tape_q_elem, q[window_at_10]);
            q[window_at_10] = t13;
        }
    }
    let mut total = 0.0;
    let mut grad_q = ::autodiff::__rt::zeros_like(&q);
    let mut fused_grad_total: f64 = 1.0;
    for i_3 in 0..n {
        let t14 = q[i_3];
        let t16 = t14 * t14;
        let total_1 = total + t16;
        total = total_1;
        {
            let grad_total_1 = fused_grad_total;
            fused_grad_total = 0.0;
            fused_grad_total += grad_total_1;
            let grad_t16 = grad_total_1;
            let t14 = q[i_3];
            let grad_t14 = grad_t16 * t14 * 2.0;
            grad_q[i_3] += grad_t14;
        }
    }
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_mu = ::autodiff::__rt::zeros_like(&mu);
    let mut grad_s = ::autodiff::__rt::zeros_like(&s);
    let mut grad_c = ::autodiff::__rt::zeros_like(&c);
    {
        let window_count_10 = ::core::iter::Iterator::size_hint(&(0..n)).0;
        let window_start_10 = 0;
        let grad_q = ::autodiff::__rt::window_mut(
            &mut grad_q[..],
            window_start_10,
            window_count_10,
        );
        let q = ::autodiff::__rt::window_mut(
            &mut q[..],
            window_start_10,
            window_count_10,
        );
        let c = ::autodiff::__rt::window(&c[..], window_start_10, window_count_10);
        let grad_c = ::autodiff::__rt::window_mut(
            &mut grad_c[..],
            window_start_10,
            window_count_10,
        );
        let grad_s = ::autodiff::__rt::window_mut(
            &mut grad_s[..],
            window_start_10,
            window_count_10,
        );
        let grad_mu = ::autodiff::__rt::window_mut(
            &mut grad_mu[..],
            window_start_10,
            window_count_10,
        );
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_10,
            window_count_10,
        );
        for window_at_10 in (0..window_count_10).rev() {
            let grad_t13 = grad_q[window_at_10];
            grad_q[window_at_10] = 0.0;
            q[window_at_10] = tape_q_elem.pop().unwrap();
            let grad_t11 = grad_t13;
            let mut grad_t8 = grad_t13;
            let t6 = c[window_at_10];
            let t10 = t8 * t6;
            let grad_t10 = grad_t11 * t10.cos();
            grad_t8 += grad_t10 * t6;
            let mut grad_t6 = grad_t10 * t8;
            grad_q[window_at_10] += grad_t8;
            t8 = tape_t8.pop().unwrap();
            let grad_t7 = grad_q[window_at_10];
            grad_q[window_at_10] = 0.0;
            q[window_at_10] = tape_q_elem.pop().unwrap();
            let grad_t5 = grad_t7 * t6;
            grad_t6 += grad_t7 * t5;
            grad_c[window_at_10] += grad_t6;
            let grad_t4 = grad_t5 * t5;
            t5 = tape_t5.pop().unwrap();
            let grad_t3 = grad_t4 * 0.5;
            grad_s[window_at_10] += grad_t3;
            let grad_t2 = grad_c[window_at_10];
            grad_c[window_at_10] = 0.0;
            let grad_t0 = grad_t2;
            let grad_t1 = -grad_t2;
            grad_mu[window_at_10] += grad_t1;
            grad_x[window_at_10] += grad_t0;
        }
    }
    (total, (grad_x, grad_mu, grad_s))
}
