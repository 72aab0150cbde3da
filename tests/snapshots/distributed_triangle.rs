fn packed_triangle_grad(
    l: &[f64],
    x: &[f64],
    d: usize,
) -> (f64, (::std::vec::Vec<f64>, ::std::vec::Vec<f64>)) {
    let mut t5 = ::core::default::Default::default();
    let mut y = ::std::vec![0.0; d];
    {
        let window_count_6 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_6 = 0;
        let x = ::autodiff::__rt::window(&x[..], window_start_6, window_count_6);
        let y = ::autodiff::__rt::window_mut(&mut y[..], window_start_6, window_count_6);
        for window_at_6 in 0..window_count_6 {
            let t0 = x[window_at_6];
            y[window_at_6] = t0;
        }
    }
    let mut li = 0;
    for i_1 in 0..d {
        let t1 = i_1 + 1;
        {
            let window_count_15 = ::core::iter::Iterator::size_hint(&(t1..d)).0;
            let window_start_15 = t1;
            let l = ::autodiff::__rt::window(&l[..], li, window_count_15);
            let y = ::autodiff::__rt::window_mut(
                &mut y[..],
                window_start_15,
                window_count_15,
            );
            for window_at_15 in 0..window_count_15 {
                let t2 = l[window_at_15];
                let t3 = x[i_1];
                let t4 = t2 * t3;
                y[window_at_15] += t4;
                let li_1 = li + 1;
                li = li_1;
            }
        }
    }
    let mut s = 0.0;
    let mut grad_y = ::autodiff::__rt::zeros_like(&y);
    let mut fused_grad_s: f64 = 1.0;
    for i_2 in 0..d {
        t5 = y[i_2];
        let t7 = t5 * t5;
        let s_1 = s + t7;
        s = s_1;
        {
            let grad_s_1 = fused_grad_s;
            fused_grad_s = 0.0;
            fused_grad_s += grad_s_1;
            let grad_t7 = grad_s_1;
            let grad_t5 = grad_t7 * t5 * 2.0;
            grad_y[i_2] += grad_t5;
        }
    }
    let mut grad_l = ::autodiff::__rt::zeros_like(&l);
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    {
        let window_count_16 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_16 = 0;
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_16,
            window_count_16,
        );
        for window_at_16 in (0..window_count_16).rev() {
            let i_1 = window_start_16 + window_at_16;
            let t1 = i_1 + 1;
            let mut grad_x_sum = 0.0;
            {
                let window_count_15 = ::core::iter::Iterator::size_hint(&(t1..d)).0;
                let window_start_15 = t1;
                let grad_y = ::autodiff::__rt::window(
                    &grad_y[..],
                    window_start_15,
                    window_count_15,
                );
                let l = ::autodiff::__rt::window(
                    &l[..],
                    li - window_count_15,
                    window_count_15,
                );
                let grad_l = ::autodiff::__rt::window_mut(
                    &mut grad_l[..],
                    li - window_count_15,
                    window_count_15,
                );
                if window_count_15 < 12usize {
                    for window_at_15 in (0..window_count_15).rev() {
                        li = li - 1;
                        let grad_t4 = grad_y[window_at_15];
                        let t3 = x[i_1];
                        let grad_t2 = grad_t4 * t3;
                        let t2 = l[window_at_15];
                        let grad_t3 = grad_t4 * t2;
                        grad_x_sum += grad_t3;
                        grad_l[window_at_15] += grad_t2;
                    }
                } else {
                    let t3 = x[i_1];
                    let mut grad_x_sum_part0 = 0.0;
                    let mut grad_x_sum_part1 = 0.0;
                    let mut grad_x_sum_part2 = 0.0;
                    let mut grad_x_sum_part3 = 0.0;
                    let distributed_blocks = window_count_15 / 4;
                    for distributed_base in (0..distributed_blocks).map(|b| 4 * b) {
                        let grad_y = &grad_y[distributed_base..distributed_base + 4];
                        let l = &l[distributed_base..distributed_base + 4];
                        {
                            let grad_t4 = grad_y[0];
                            let t2 = l[0];
                            let grad_t3 = grad_t4 * t2;
                            grad_x_sum_part0 += grad_t3;
                        }
                        {
                            let grad_t4 = grad_y[1];
                            let t2 = l[1];
                            let grad_t3 = grad_t4 * t2;
                            grad_x_sum_part1 += grad_t3;
                        }
                        {
                            let grad_t4 = grad_y[2];
                            let t2 = l[2];
                            let grad_t3 = grad_t4 * t2;
                            grad_x_sum_part2 += grad_t3;
                        }
                        {
                            let grad_t4 = grad_y[3];
                            let t2 = l[3];
                            let grad_t3 = grad_t4 * t2;
                            grad_x_sum_part3 += grad_t3;
                        }
                    }
                    for window_at_15 in 4 * distributed_blocks..window_count_15 {
                        let grad_t4 = grad_y[window_at_15];
                        let t2 = l[window_at_15];
                        let grad_t3 = grad_t4 * t2;
                        grad_x_sum_part0 += grad_t3;
                    }
                    grad_x_sum
                        += (grad_x_sum_part0 + grad_x_sum_part1)
                            + (grad_x_sum_part2 + grad_x_sum_part3);
                    for window_at_15 in 0..window_count_15 {
                        let grad_t4 = grad_y[window_at_15];
                        let grad_t2 = grad_t4 * t3;
                        grad_l[window_at_15] += grad_t2;
                    }
                    li = li - window_count_15;
                }
            }
            grad_x[window_at_16] += grad_x_sum;
        }
    }
    {
        let window_count_6 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_6 = 0;
        let grad_y = ::autodiff::__rt::window_mut(
            &mut grad_y[..],
            window_start_6,
            window_count_6,
        );
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_6,
            window_count_6,
        );
        for window_at_6 in (0..window_count_6).rev() {
            let grad_t0 = grad_y[window_at_6];
            grad_y[window_at_6] = 0.0;
            grad_x[window_at_6] += grad_t0;
        }
    }
    (s, (grad_l, grad_x))
}
