use autodiff::grad;

#[grad]
fn f(x: f64) -> f64 {
    let mut acc = x;
    let last = loop {
        acc *= 0.5;
        if acc < 0.1 {
            break acc;
        }
    };
    last
}

fn main() {}
