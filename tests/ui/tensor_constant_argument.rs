use autodiff::grad;
use autodiff::runtime::tensor::Tensor;

// The exponent of `powf` is a constant of the rule: a differentiated
// exponent would silently lose its gradient.
#[grad]
fn loss(w: &Tensor, p: f32) -> f32 {
    w.powf(p).sum().item()
}

fn main() {}
