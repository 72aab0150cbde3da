fn rows_grad(
    a: &[f64],
    x: &[f64],
    data: &[f64],
    m: usize,
) -> (f64, (::std::vec::Vec<f64>, ::std::vec::Vec<f64>)) {
    let mut t3 = ::core::default::Default::default();
    let mut t = ::core::default::Default::default();
    let mut tape_t3 = ::std::vec::Vec::new();
    let mut tape_t = ::autodiff::__rt::Tape::new();
    let n = x.len();
    let mut s = 0.0;
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..m)).0;
        tape_t3.reserve(iterations);
        tape_t.reserve(iterations.saturating_mul(2usize));
    }
    for i in 0..m {
        let t0 = i * n;
        let t1 = i + 1;
        let t2 = t1 * n;
        ::autodiff::__rt::push_reserved(&mut tape_t3, t3);
        t3 = ::autodiff::__rt::view_len(&a, t0, t2);
        let t4 = i * n;
        let t5 = i + 1;
        let t6 = t5 * n;
        let t7 = ::autodiff::__rt::view_len(&data, t4, t6);
        ::autodiff::__rt::push_reserved(&mut tape_t, t);
        t = 0.0;
        ::autodiff::__rt::push_reserved(&mut tape_t, t);
        {
            let window_count_25 = ::core::iter::Iterator::size_hint(&(0..n)).0;
            let window_start_25 = 0;
            ::autodiff::__rt::view_covers(window_start_25, window_count_25, t3);
            ::autodiff::__rt::view_covers(window_start_25, window_count_25, t7);
            let a = ::autodiff::__rt::window(
                &a[..],
                if window_count_25 > 0 { window_start_25 + (t0) } else { 0 },
                window_count_25,
            );
            let x = ::autodiff::__rt::window(&x[..], window_start_25, window_count_25);
            let data = ::autodiff::__rt::window(
                &data[..],
                if window_count_25 > 0 { window_start_25 + (t4) } else { 0 },
                window_count_25,
            );
            for window_at_25 in 0..window_count_25 {
                let j = window_start_25 + window_at_25;
                let t8 = t0 + j;
                let t9 = a[window_at_25];
                let t10 = x[window_at_25];
                let t11 = t9 * t10;
                let t12 = t4 + j;
                let t13 = data[window_at_25];
                let t14 = t11 - t13;
                let t15 = t + t14;
                t = t15;
            }
        }
        let t16 = t * t;
        let t17 = t0 + t3;
        let t18 = norm2(&a[t0..t17]);
        let t19 = t16 + t18;
        let s_1 = s + t19;
        s = s_1;
    }
    let out = s.sqrt();
    let mut grad_a = ::autodiff::__rt::zeros_like(&a);
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_s = 0.0;
    let mut grad_t = 0.0;
    let grad_out: f64 = 1.0;
    grad_s += grad_out * 0.5 / out;
    for i in ::autodiff::__rt::rev_range(
        0,
        ::core::iter::Iterator::size_hint(&(0..m)).0,
    ) {
        let grad_s_1 = grad_s;
        grad_s = 0.0;
        grad_s += grad_s_1;
        let grad_t19 = grad_s_1;
        let grad_t16 = grad_t19;
        let grad_t18 = grad_t19;
        let t0 = i * n;
        let t17 = t0 + t3;
        let (_, (_,)) = norm2_vjp_into(&a[t0..t17], grad_t18, (&mut grad_a[t0..t17],));
        grad_t += grad_t16 * t * 2.0;
        {
            let window_count_25 = ::core::iter::Iterator::size_hint(&(0..n)).0;
            let window_start_25 = 0;
            ::autodiff::__rt::view_covers(window_start_25, window_count_25, t3);
            let x = ::autodiff::__rt::window(&x[..], window_start_25, window_count_25);
            let a = ::autodiff::__rt::window(
                &a[..],
                if window_count_25 > 0 { window_start_25 + (t0) } else { 0 },
                window_count_25,
            );
            let grad_x = ::autodiff::__rt::window_mut(
                &mut grad_x[..],
                window_start_25,
                window_count_25,
            );
            let grad_a = ::autodiff::__rt::window_mut(
                &mut grad_a[..],
                if window_count_25 > 0 { window_start_25 + (t0) } else { 0 },
                window_count_25,
            );
            for window_at_25 in (0..window_count_25).rev() {
                let j = window_start_25 + window_at_25;
                let grad_t15 = grad_t;
                grad_t = 0.0;
                grad_t += grad_t15;
                let grad_t14 = grad_t15;
                let grad_t11 = grad_t14;
                let t10 = x[window_at_25];
                let grad_t9 = grad_t11 * t10;
                let t8 = t0 + j;
                let t9 = a[window_at_25];
                let grad_t10 = grad_t11 * t9;
                grad_x[window_at_25] += grad_t10;
                grad_a[window_at_25] += grad_t9;
            }
        }
        t = tape_t.pop().unwrap();
        grad_t = 0.0;
        t = tape_t.pop().unwrap();
        t3 = tape_t3.pop().unwrap();
    }
    (out, (grad_a, grad_x))
}
