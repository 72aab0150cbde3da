fn qtimesx_autodiff_out_grad(
    qdiag: &[f64],
    ltri: &[f64],
    x: &[f64],
    out: &[f64],
    autodiff_cotangent: &[f64],
) -> (
    f64,
    (
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
    ),
) {
    let mut out_2 = out.to_vec();
    let d = x.len();
    {
        let window_count_11 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_11 = 0;
        let qdiag = ::autodiff::__rt::window(
            &qdiag[..],
            window_start_11,
            window_count_11,
        );
        let x = ::autodiff::__rt::window(&x[..], window_start_11, window_count_11);
        let out_2 = ::autodiff::__rt::window_mut(
            &mut out_2[..],
            window_start_11,
            window_count_11,
        );
        for window_at_11 in 0..window_count_11 {
            let t0 = qdiag[window_at_11];
            let t1 = x[window_at_11];
            let t2 = t0 * t1;
            out_2[window_at_11] = t2;
        }
    }
    let mut li = 0;
    for i_1 in 0..d {
        let t3 = i_1 + 1;
        {
            let window_count_20 = ::core::iter::Iterator::size_hint(&(t3..d)).0;
            let window_start_20 = t3;
            let ltri = ::autodiff::__rt::window(&ltri[..], li, window_count_20);
            let out_2 = ::autodiff::__rt::window_mut(
                &mut out_2[..],
                window_start_20,
                window_count_20,
            );
            for window_at_20 in 0..window_count_20 {
                let t4 = ltri[window_at_20];
                let t5 = x[i_1];
                let t6 = t4 * t5;
                out_2[window_at_20] += t6;
                let li_1 = li + 1;
                li = li_1;
            }
        }
    }
    let mut autodiff_dot: f64 = 0.0;
    let t7 = out_2.len();
    let mut grad_out_2 = ::autodiff::__rt::zeros_like(&out_2);
    let mut fused_grad_autodiff_dot: f64 = 1.0;
    for autodiff_i in 0..t7 {
        let t8 = out_2[autodiff_i];
        let t9 = autodiff_cotangent[autodiff_i];
        let t10 = t8 * t9;
        let autodiff_dot_1 = autodiff_dot + t10;
        autodiff_dot = autodiff_dot_1;
        {
            let grad_autodiff_dot_1 = fused_grad_autodiff_dot;
            fused_grad_autodiff_dot = 0.0;
            fused_grad_autodiff_dot += grad_autodiff_dot_1;
            let grad_t10 = grad_autodiff_dot_1;
            let t9 = autodiff_cotangent[autodiff_i];
            let grad_t8 = grad_t10 * t9;
            grad_out_2[autodiff_i] += grad_t8;
        }
    }
    let mut grad_qdiag = ::autodiff::__rt::zeros_like(&qdiag);
    let mut grad_ltri = ::autodiff::__rt::zeros_like(&ltri);
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_out = ::autodiff::__rt::zeros_like(&out);
    {
        let window_count_21 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_21 = 0;
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_21,
            window_count_21,
        );
        for window_at_21 in (0..window_count_21).rev() {
            let i_1 = window_start_21 + window_at_21;
            let t3 = i_1 + 1;
            let mut grad_x_sum = 0.0;
            {
                let window_count_20 = ::core::iter::Iterator::size_hint(&(t3..d)).0;
                let window_start_20 = t3;
                let grad_out_2 = ::autodiff::__rt::window(
                    &grad_out_2[..],
                    window_start_20,
                    window_count_20,
                );
                let ltri = ::autodiff::__rt::window(
                    &ltri[..],
                    li - window_count_20,
                    window_count_20,
                );
                let grad_ltri = ::autodiff::__rt::window_mut(
                    &mut grad_ltri[..],
                    li - window_count_20,
                    window_count_20,
                );
                if window_count_20 < 12usize {
                    for window_at_20 in (0..window_count_20).rev() {
                        li = li - 1;
                        let grad_t6 = grad_out_2[window_at_20];
                        let t5 = x[i_1];
                        let grad_t4 = grad_t6 * t5;
                        let t4 = ltri[window_at_20];
                        let grad_t5 = grad_t6 * t4;
                        grad_x_sum += grad_t5;
                        grad_ltri[window_at_20] += grad_t4;
                    }
                } else {
                    let t5 = x[i_1];
                    let mut grad_x_sum_part0 = 0.0;
                    let mut grad_x_sum_part1 = 0.0;
                    let mut grad_x_sum_part2 = 0.0;
                    let mut grad_x_sum_part3 = 0.0;
                    let distributed_blocks = window_count_20 / 4;
                    for distributed_base in (0..distributed_blocks).map(|b| 4 * b) {
                        let grad_out_2 = &grad_out_2[distributed_base..distributed_base
                            + 4];
                        let ltri = &ltri[distributed_base..distributed_base + 4];
                        {
                            let grad_t6 = grad_out_2[0];
                            let t4 = ltri[0];
                            let grad_t5 = grad_t6 * t4;
                            grad_x_sum_part0 += grad_t5;
                        }
                        {
                            let grad_t6 = grad_out_2[1];
                            let t4 = ltri[1];
                            let grad_t5 = grad_t6 * t4;
                            grad_x_sum_part1 += grad_t5;
                        }
                        {
                            let grad_t6 = grad_out_2[2];
                            let t4 = ltri[2];
                            let grad_t5 = grad_t6 * t4;
                            grad_x_sum_part2 += grad_t5;
                        }
                        {
                            let grad_t6 = grad_out_2[3];
                            let t4 = ltri[3];
                            let grad_t5 = grad_t6 * t4;
                            grad_x_sum_part3 += grad_t5;
                        }
                    }
                    for window_at_20 in 4 * distributed_blocks..window_count_20 {
                        let grad_t6 = grad_out_2[window_at_20];
                        let t4 = ltri[window_at_20];
                        let grad_t5 = grad_t6 * t4;
                        grad_x_sum_part0 += grad_t5;
                    }
                    grad_x_sum
                        += (grad_x_sum_part0 + grad_x_sum_part1)
                            + (grad_x_sum_part2 + grad_x_sum_part3);
                    for window_at_20 in 0..window_count_20 {
                        let grad_t6 = grad_out_2[window_at_20];
                        let grad_t4 = grad_t6 * t5;
                        grad_ltri[window_at_20] += grad_t4;
                    }
                    li = li - window_count_20;
                }
            }
            grad_x[window_at_21] += grad_x_sum;
        }
    }
    {
        let window_count_11 = ::core::iter::Iterator::size_hint(&(0..d)).0;
        let window_start_11 = 0;
        let grad_out_2 = ::autodiff::__rt::window_mut(
            &mut grad_out_2[..],
            window_start_11,
            window_count_11,
        );
        let x = ::autodiff::__rt::window(&x[..], window_start_11, window_count_11);
        let qdiag = ::autodiff::__rt::window(
            &qdiag[..],
            window_start_11,
            window_count_11,
        );
        let grad_x = ::autodiff::__rt::window_mut(
            &mut grad_x[..],
            window_start_11,
            window_count_11,
        );
        let grad_qdiag = ::autodiff::__rt::window_mut(
            &mut grad_qdiag[..],
            window_start_11,
            window_count_11,
        );
        for window_at_11 in (0..window_count_11).rev() {
            let grad_t2 = grad_out_2[window_at_11];
            grad_out_2[window_at_11] = 0.0;
            let t1 = x[window_at_11];
            let grad_t0 = grad_t2 * t1;
            let t0 = qdiag[window_at_11];
            let grad_t1 = grad_t2 * t0;
            grad_x[window_at_11] += grad_t1;
            grad_qdiag[window_at_11] += grad_t0;
        }
    }
    ::autodiff::__rt::accumulate(&mut grad_out, &grad_out_2);
    (autodiff_dot, (grad_qdiag, grad_ltri, grad_x, grad_out))
}
