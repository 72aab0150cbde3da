fn in_place_calls_grad(x: &[f64], w: f64) -> (f64, (::std::vec::Vec<f64>, f64)) {
    let mut t2 = ::core::default::Default::default();
    let mut t0_scratch0 = ::std::vec::Vec::new();
    let mut tape_t = ::autodiff::__rt::Tape::new();
    let mut tape_t2 = ::autodiff::__rt::Tape::new();
    let t0_dst0 = ::autodiff::__rt::zeroed_for(&mut t0_scratch0, &x);
    let (t0_value, t0_gradient) = sumsq_vjp_into(x, 1.0, (t0_dst0,));
    let t0 = t0_value;
    let a = t0 * w;
    let mut t = a;
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..2)).0;
        tape_t2.reserve(iterations);
        tape_t.reserve(iterations);
    }
    for i in 0..2 {
        let t1 = i + 2;
        ::autodiff::__rt::push_reserved(&mut tape_t2, t2);
        t2 = sumsq(&x[i..t1]);
        let t3 = t * t2;
        ::autodiff::__rt::push_reserved(&mut tape_t, t);
        t = t3 + w;
    }
    let value = t;
    let mut grad_x = ::autodiff::__rt::zeros_like(&x);
    let mut grad_w = 0.0;
    let mut grad_t: f64 = 1.0;
    for i in ::autodiff::__rt::rev_range(
        0,
        ::core::iter::Iterator::size_hint(&(0..2)).0,
    ) {
        let grad_t3 = grad_t;
        grad_w += grad_t;
        grad_t = 0.0;
        t = tape_t.pop().unwrap();
        grad_t += grad_t3 * t2;
        let grad_t2 = grad_t3 * t;
        let t1 = i + 2;
        let (_, (_,)) = sumsq_vjp_into(&x[i..t1], grad_t2, (&mut grad_x[i..t1],));
        t2 = tape_t2.pop().unwrap();
    }
    let grad_a = grad_t;
    let grad_t0 = grad_a * w;
    grad_w += grad_a * t0;
    let (_,) = t0_gradient;
    ::autodiff::__rt::accumulate_scaled(&mut grad_x[..], &t0_scratch0, grad_t0);
    (value, (grad_x, grad_w))
}
