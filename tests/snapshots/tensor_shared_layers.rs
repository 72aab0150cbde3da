fn shared_layers_grad(
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    layers: usize,
) -> (f32, (Tensor, Tensor)) {
    let mut t0 = ::core::default::Default::default();
    let mut t1 = ::core::default::Default::default();
    let mut tape_h = ::std::vec::Vec::new();
    let mut tape_t0 = ::std::vec::Vec::new();
    let mut tape_t1 = ::std::vec::Vec::new();
    let mut h = x.clone();
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..layers)).0;
        tape_t0.reserve(iterations);
        tape_t1.reserve(iterations);
        tape_h.reserve(iterations);
    }
    for _ in 0..layers {
        ::autodiff::__rt::push_reserved(&mut tape_t0, t0);
        t0 = ::autodiff::__rt::tensor::matmul(&h, &w);
        ::autodiff::__rt::push_reserved(&mut tape_t1, t1);
        t1 = ::autodiff::__rt::tensor::add(&t0, &b);
        ::autodiff::__rt::push_reserved(&mut tape_h, h);
        h = ::autodiff::__rt::tensor::tanh(&t1);
    }
    let t2 = ::autodiff::__rt::tensor::sum(&h);
    let out = ::autodiff::__rt::tensor::Tensor::item(&t2);
    let mut grad_w = ::autodiff::__rt::tensor::Tensor::zeros_like(&w);
    let mut grad_b = ::autodiff::__rt::tensor::Tensor::zeros_like(&b);
    let mut grad_h = ::autodiff::__rt::tensor::Tensor::zeros_like(&h);
    let grad_out: f32 = 1.0;
    let grad_t2 = ::autodiff::__rt::tensor::item_pullback(&t2, out, grad_out);
    grad_h += ::autodiff::__rt::tensor::sum_pullback(&h, &t2, &grad_t2);
    for _ in 0..::core::iter::Iterator::size_hint(&(0..layers)).0 {
        let grad_t1 = ::autodiff::__rt::tensor::tanh_pullback(&t1, &h, &grad_h);
        h = tape_h.pop().unwrap();
        grad_h = ::autodiff::__rt::tensor::Tensor::zeros_like(&h);
        let grad_t0 = ::autodiff::__rt::tensor::add_pullback_lhs(&t0, &b, &t1, &grad_t1);
        grad_b += ::autodiff::__rt::tensor::add_pullback_rhs(&t0, &b, &t1, &grad_t1);
        t1 = tape_t1.pop().unwrap();
        grad_h += ::autodiff::__rt::tensor::matmul_pullback_lhs(&h, &w, &t0, &grad_t0);
        grad_w += ::autodiff::__rt::tensor::matmul_pullback_rhs(&h, &w, &t0, &grad_t0);
        t0 = tape_t0.pop().unwrap();
    }
    (out, (grad_w, grad_b))
}
