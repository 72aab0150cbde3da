//! Operator overloading, so hand-written and generated code can say `&x * &w + b`.
//!
//! Every operator forwards to the named function in [`elementwise`](super::elementwise)
//! (`+` is [`add`](super::add), `t * 2.0` is [`mul_scalar`](super::mul_scalar),
//! `2.0 - t` is [`scalar_sub`](super::scalar_sub), ...), so the pullback of an
//! operator expression is the pullback of that function. All binary tensor
//! operators broadcast and panic like their named function.

use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub};

use super::elementwise::{
    add, add_scalar, broadcast_shape, div, div_scalar, mul, mul_scalar, neg, scalar_div,
    scalar_sub, sub, sub_scalar,
};
use super::Tensor;

macro_rules! tensor_tensor_op {
    ($trait:ident, $method:ident, $func:ident) => {
        impl $trait<&Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(self, rhs)
            }
        }
        impl $trait<Tensor> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(self, &rhs)
            }
        }
        impl $trait<&Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $func(&self, rhs)
            }
        }
        impl $trait<Tensor> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $func(&self, &rhs)
            }
        }
    };
}

tensor_tensor_op!(Add, add, add);
tensor_tensor_op!(Sub, sub, sub);
tensor_tensor_op!(Mul, mul, mul);
tensor_tensor_op!(Div, div, div);

macro_rules! tensor_scalar_op {
    ($trait:ident, $method:ident, $tensor_first:ident, $scalar_first:ident) => {
        impl $trait<f32> for &Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                $tensor_first(self, rhs)
            }
        }
        impl $trait<f32> for Tensor {
            type Output = Tensor;
            fn $method(self, rhs: f32) -> Tensor {
                $tensor_first(&self, rhs)
            }
        }
        impl $trait<&Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: &Tensor) -> Tensor {
                $scalar_first(self, rhs)
            }
        }
        impl $trait<Tensor> for f32 {
            type Output = Tensor;
            fn $method(self, rhs: Tensor) -> Tensor {
                $scalar_first(self, &rhs)
            }
        }
    };
}

// `s + t` and `s * t` commute, so they reuse the tensor-first functions with the
// operands swapped.
fn scalar_add(s: f32, t: &Tensor) -> Tensor {
    add_scalar(t, s)
}
fn scalar_mul(s: f32, t: &Tensor) -> Tensor {
    mul_scalar(t, s)
}

tensor_scalar_op!(Add, add, add_scalar, scalar_add);
tensor_scalar_op!(Sub, sub, sub_scalar, scalar_sub);
tensor_scalar_op!(Mul, mul, mul_scalar, scalar_mul);
tensor_scalar_op!(Div, div, div_scalar, scalar_div);

impl Neg for &Tensor {
    type Output = Tensor;
    fn neg(self) -> Tensor {
        neg(self)
    }
}

impl Neg for Tensor {
    type Output = Tensor;
    fn neg(mut self) -> Tensor {
        for x in &mut self.data {
            *x = -*x;
        }
        self
    }
}

/// Gradient accumulation: `grad_x += contribution`.
///
/// `rhs` may broadcast to `self`'s shape (it is added to every copy), but the
/// result must keep `self`'s shape, since an accumulator never grows.
///
/// # Panics
/// If `rhs` does not broadcast to `self`'s shape.
impl AddAssign<&Tensor> for Tensor {
    fn add_assign(&mut self, rhs: &Tensor) {
        if self.shape == rhs.shape {
            for (a, b) in self.data.iter_mut().zip(&rhs.data) {
                *a += b;
            }
            return;
        }
        let out = broadcast_shape("add_assign", &self.shape, &rhs.shape);
        assert!(
            out == self.shape,
            "add_assign: {:?} += {:?}: the right side must broadcast to the left side's shape",
            self.shape,
            rhs.shape
        );
        *self = add(self, rhs);
    }
}

/// Same as `+= &rhs`.
///
/// # Panics
/// If `rhs` does not broadcast to `self`'s shape.
impl AddAssign<Tensor> for Tensor {
    fn add_assign(&mut self, rhs: Tensor) {
        *self += &rhs;
    }
}
