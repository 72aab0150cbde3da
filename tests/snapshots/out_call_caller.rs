fn mahalanobis_grad(
    x: &[f64],
    mu: &[f64],
    qdiag: &[f64],
    ltri: &[f64],
) -> (
    f64,
    (
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
        ::std::vec::Vec<f64>,
    ),
) {
    let mut t0_scratch0 = ::std::vec::Vec::new();
    let d = x.len();
    let xc = ::std::vec![0.0; d];
    let qxc = ::std::vec![0.0; d];
    let xc_1 = {
        let mut autodiff_written = ::core::clone::Clone::clone(&xc);
        subtract(x, mu, &mut autodiff_written);
        autodiff_written
    };
    let qxc_1 = {
        let mut autodiff_written = ::core::clone::Clone::clone(&qxc);
        qtimesx(qdiag, ltri, &xc_1, &mut autodiff_written);
        autodiff_written
    };
    let t0_dst0 = ::autodiff::__rt::zeroed_for(&mut t0_scratch0, &&qxc_1);
    let (t0_value, t0_gradient) = sqnorm_vjp_into(&qxc_1, 1.0, (t0_dst0,));
    let t0 = t0_value;
    let out = 0.5 * t0;
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_mu = ::autodiff::__rt::zeros_like(&mu);
    let mut grad_qdiag = ::autodiff::__rt::zeros_like(&qdiag);
    let mut grad_ltri = ::autodiff::__rt::zeros_like(&ltri);
    let mut grad_xc_1 = ::autodiff::__rt::zeros_like(&xc_1);
    let mut grad_qxc_1 = ::autodiff::__rt::zeros_like(&qxc_1);
    let grad_out: f64 = 1.0;
    let grad_t0 = grad_out * 0.5;
    let (_,) = t0_gradient;
    ::autodiff::__rt::accumulate_scaled(&mut grad_qxc_1[..], &t0_scratch0, grad_t0);
    let (_, (_, _, _, _, _)) = qtimesx_autodiff_out_vjp_into(
        qdiag,
        ltri,
        &xc_1,
        &qxc,
        &grad_qxc_1,
        1.0,
        (&mut grad_qdiag[..], &mut grad_ltri[..], &mut grad_xc_1[..], (), ()),
    );
    let (_, (_, _, _, _)) = subtract_autodiff_out_vjp_into(
        x,
        mu,
        &xc,
        &grad_xc_1,
        1.0,
        (&mut grad_x[..], &mut grad_mu[..], (), ()),
    );
    (out, (grad_x, grad_mu, grad_qdiag, grad_ltri))
}
