use autodiff::grad;

trait Cube {
    fn cube(self) -> Self;
}
impl Cube for f64 {
    fn cube(self) -> Self {
        self * self * self
    }
}

#[grad]
fn f(x: f64) -> f64 {
    x.cube() + 1.0
}

fn main() {}
