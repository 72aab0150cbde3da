fn early_returns_grad(x: f64, y: f64) -> (f64, (f64, f64)) {
    let mut ret = ::core::default::Default::default();
    let mut returned = ::core::default::Default::default();
    let mut acc = ::core::default::Default::default();
    let mut skip = ::core::default::Default::default();
    let mut stop = ::core::default::Default::default();
    let mut iters = ::core::default::Default::default();
    let mut t6 = ::core::default::Default::default();
    let mut t7 = ::core::default::Default::default();
    let mut t8 = ::core::default::Default::default();
    let mut tape_acc = ::autodiff::__rt::Tape::new();
    returned = false;
    let t0 = x < (-1.0);
    if t0 {
        ret = x * y;
        returned = true;
    }
    let t1 = !returned;
    if t1 {
        acc = x;
        stop = false;
        iters = 0usize;
        {
            let iterations = ::core::iter::Iterator::size_hint(&(0..6)).0;
            tape_acc.reserve(iterations);
        }
        for i in 0..6 {
            iters += 1;
            skip = false;
            let t2 = acc * y;
            ::autodiff::__rt::push_reserved(&mut tape_acc, acc);
            acc = t2 + 0.5;
            let t3 = acc > 3.0;
            if t3 {
                let t4 = acc.ln();
                let t5 = i as f64;
                ret = t4 + t5;
                returned = true;
                skip = true;
                stop = true;
            }
            if stop {
                break;
            }
        }
        t6 = !returned;
        if t6 {
            t7 = y < 0.0;
            if t7 {
                ret = -acc;
                returned = true;
            }
            t8 = !returned;
            if t8 {
                ret = acc * 2.0;
            }
        }
    }
    let mut grad_x = 0.0;
    let mut grad_y = 0.0;
    let mut grad_ret: f64 = 1.0;
    let mut grad_acc = 0.0;
    if t1 {
        if t6 {
            if t8 {
                grad_acc += grad_ret * 2.0;
                grad_ret = 0.0;
            }
            if t7 {
                grad_acc += -grad_ret;
                grad_ret = 0.0;
            }
        }
        for _ in 0..iters {
            let t3 = acc > 3.0;
            if t3 {
                let grad_t4 = grad_ret;
                grad_ret = 0.0;
                grad_acc += grad_t4 / acc;
            }
            let grad_t2 = grad_acc;
            grad_acc = 0.0;
            acc = tape_acc.pop().unwrap();
            grad_acc += grad_t2 * y;
            grad_y += grad_t2 * acc;
        }
        grad_x += grad_acc;
        grad_acc = 0.0;
    }
    if t0 {
        grad_x += grad_ret * y;
        grad_y += grad_ret * x;
        grad_ret = 0.0;
    }
    (ret, (grad_x, grad_y))
}
