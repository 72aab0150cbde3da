fn logistic_map_grad(x: f64) -> (f64, f64) {
    let mut t0 = ::core::default::Default::default();
    let mut t1 = ::core::default::Default::default();
    let mut tape_t0 = ::autodiff::__rt::Tape::new();
    let mut tape_t1 = ::autodiff::__rt::Tape::new();
    let mut v = x;
    {
        let iterations = ::core::iter::Iterator::size_hint(&(0..3)).0;
        tape_t0.reserve(iterations);
        tape_t1.reserve(iterations);
    }
    for _ in 0..3 {
        ::autodiff::__rt::push_reserved(&mut tape_t0, t0);
        t0 = 4.0 * v;
        ::autodiff::__rt::push_reserved(&mut tape_t1, t1);
        t1 = 1.0 - v;
        v = t0 * t1;
    }
    let mut grad_v: f64 = 1.0;
    for _ in 0..::core::iter::Iterator::size_hint(&(0..3)).0 {
        let grad_t0 = grad_v * t1;
        let grad_t1 = grad_v * t0;
        grad_v = 0.0;
        grad_v += -grad_t1;
        t1 = tape_t1.pop().unwrap();
        grad_v += grad_t0 * 4.0;
        t0 = tape_t0.pop().unwrap();
    }
    let grad_x = grad_v;
    (v, grad_x)
}
