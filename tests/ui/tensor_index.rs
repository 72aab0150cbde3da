use autodiff::grad;
use autodiff::runtime::tensor::Tensor;

#[grad]
fn loss(w: &Tensor) -> f32 {
    let v = w.relu();
    v[0]
}

fn main() {}
