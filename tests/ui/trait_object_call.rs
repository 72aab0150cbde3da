use autodiff::grad;

trait Model {
    fn eval(&self, x: f64) -> f64;
}

#[grad(wrt(x))]
fn loss(model: &dyn Model, x: f64) -> f64 {
    let y = model.eval(x);
    y * y
}

fn main() {}
