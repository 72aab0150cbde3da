fn if_expression_grad(x: f64, y: f64) -> (f64, (f64, f64)) {
    let mut value = ::core::default::Default::default();
    let mut t1 = ::core::default::Default::default();
    let mut t2 = ::core::default::Default::default();
    let mut tape_value = ::autodiff::__rt::Tape::new();
    let t = x * y;
    let t0 = t > 0.2;
    if t0 {
        tape_value.push(value);
        value = t.exp();
    } else {
        t1 = t < (-0.5);
        if t1 {
            t2 = -t;
            tape_value.push(value);
            value = t2 * x;
        } else {
            tape_value.push(value);
            value = t + y;
        }
    }
    let r = value;
    let out = r * x;
    let mut grad_x = 0.0;
    let mut grad_y = 0.0;
    let mut grad_t = 0.0;
    let mut grad_value = 0.0;
    let grad_out: f64 = 1.0;
    let grad_r = grad_out * x;
    grad_x += grad_out * r;
    grad_value += grad_r;
    if t0 {
        grad_t += grad_value * value;
        grad_value = 0.0;
        value = tape_value.pop().unwrap();
    } else {
        if t1 {
            let grad_t2 = grad_value * x;
            grad_x += grad_value * t2;
            grad_value = 0.0;
            value = tape_value.pop().unwrap();
            grad_t += -grad_t2;
        } else {
            grad_t += grad_value;
            grad_y += grad_value;
            grad_value = 0.0;
            value = tape_value.pop().unwrap();
        }
    }
    grad_x += grad_t * y;
    grad_y += grad_t * x;
    (out, (grad_x, grad_y))
}
