use autodiff::grad;
use autodiff::runtime::tensor::Tensor;

#[grad]
fn loss(a: &Tensor, b: &Tensor) -> f32 {
    let r = a % b;
    r.sum().item()
}

fn main() {}
