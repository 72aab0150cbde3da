use autodiff::grad;

fn helper(v: f64) -> f64 {
    v * 3.0
}

// At the top level the call takes the callee's gradient with its value.
#[grad]
fn f(x: f64) -> f64 {
    let y = helper(x);
    y + x
}

// In a loop whose reverse runs after it, the call goes through the pullback.
#[grad]
fn g(x: f64) -> f64 {
    let mut s = 1.0;
    for _ in 0..3 {
        s = s * helper(x);
    }
    s
}

fn squared_length(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum()
}

// With a vector argument, the call goes through `f_vjp_into`.
#[grad]
fn through_a_slice(x: &[f64]) -> f64 {
    let mut s = 1.0;
    for _ in 0..3 {
        s = s * squared_length(&x[1..]);
    }
    s
}

fn main() {}
