//! The derivative rules: one table, one entry per primitive.
//!
//! Each primitive names its local gradient once (the lectures' "local
//! gradient × upstream gradient"), as a token template over the argument
//! expressions `a`, `b`, `c`, the primitive's output `y` and the upstream
//! adjoint `g`. Most rules are plain arithmetic that rustc types from the
//! operands, so one template serves `f32` and `f64`; rules that need a branch
//! or a typed constant call `::autodiff::__rt` helpers. Adding a primitive is
//! one variant, one line in the recognition table, and one rule.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prim {
    Copy,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    Neg,
    Exp,
    Exp2,
    ExpM1,
    Ln,
    Ln1p,
    Log,
    Log2,
    Log10,
    Sqrt,
    Cbrt,
    Powi,
    Powf,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Atan2,
    Sinh,
    Cosh,
    Tanh,
    Asinh,
    Acosh,
    Atanh,
    Abs,
    Recip,
    Hypot,
    Max,
    Min,
    Clamp,
    MulAdd,
    ToDegrees,
    ToRadians,
    Fract,
    Sigmoid,
    Relu,
    Softplus,
    /// `x as f32` / `x as f64` / `f64::from(x)` between float types.
    CastFloat,
}

/// Float methods with a rule: name, argument count including the receiver.
const METHODS: &[(&str, usize, Prim)] = &[
    ("exp", 1, Prim::Exp),
    ("exp2", 1, Prim::Exp2),
    ("exp_m1", 1, Prim::ExpM1),
    ("ln", 1, Prim::Ln),
    ("ln_1p", 1, Prim::Ln1p),
    ("log", 2, Prim::Log),
    ("log2", 1, Prim::Log2),
    ("log10", 1, Prim::Log10),
    ("sqrt", 1, Prim::Sqrt),
    ("cbrt", 1, Prim::Cbrt),
    ("powi", 2, Prim::Powi),
    ("powf", 2, Prim::Powf),
    ("sin", 1, Prim::Sin),
    ("cos", 1, Prim::Cos),
    ("tan", 1, Prim::Tan),
    ("asin", 1, Prim::Asin),
    ("acos", 1, Prim::Acos),
    ("atan", 1, Prim::Atan),
    ("atan2", 2, Prim::Atan2),
    ("sinh", 1, Prim::Sinh),
    ("cosh", 1, Prim::Cosh),
    ("tanh", 1, Prim::Tanh),
    ("asinh", 1, Prim::Asinh),
    ("acosh", 1, Prim::Acosh),
    ("atanh", 1, Prim::Atanh),
    ("abs", 1, Prim::Abs),
    ("recip", 1, Prim::Recip),
    ("hypot", 2, Prim::Hypot),
    ("max", 2, Prim::Max),
    ("min", 2, Prim::Min),
    ("clamp", 3, Prim::Clamp),
    ("mul_add", 3, Prim::MulAdd),
    ("to_degrees", 1, Prim::ToDegrees),
    ("to_radians", 1, Prim::ToRadians),
    ("fract", 1, Prim::Fract),
    ("clone", 1, Prim::Copy),
];

/// Methods whose result is piecewise constant or not a float: derivative zero.
const NONDIFF_METHODS: &[&str] = &[
    "floor",
    "ceil",
    "round",
    "round_ties_even",
    "trunc",
    "signum",
    "is_nan",
    "is_finite",
    "is_infinite",
    "is_normal",
    "is_subnormal",
    "is_sign_positive",
    "is_sign_negative",
    "total_cmp",
    "partial_cmp",
    "to_bits",
    "len",
    "is_empty",
];

/// Runtime activation functions known by name (`autodiff::sigmoid`, ...).
const RUNTIME_FNS: &[(&str, Prim)] = &[
    ("sigmoid", Prim::Sigmoid),
    ("relu", Prim::Relu),
    ("softplus", Prim::Softplus),
];

/// What a float method call is, given its name and argument count.
pub enum Known {
    Prim(Prim),
    NonDiff,
    Unknown,
}

pub fn method(name: &str, nargs: usize) -> Known {
    if let Some(&(_, _, p)) = METHODS.iter().find(|(n, k, _)| *n == name && *k == nargs) {
        Known::Prim(p)
    } else if NONDIFF_METHODS.contains(&name) {
        Known::NonDiff
    } else {
        Known::Unknown
    }
}

/// Whether `name` is a float method with a rule but called with the wrong
/// number of arguments (for a precise error).
pub fn method_arity(name: &str) -> Option<usize> {
    METHODS.iter().find(|(n, _, _)| *n == name).map(|m| m.1)
}

pub fn runtime_fn(name: &str) -> Option<Prim> {
    RUNTIME_FNS.iter().find(|(n, _)| *n == name).map(|r| r.1)
}

/// An argument as a rule sees it: its tokens (atomic) and, for integer
/// literals, the value.
pub struct Arg {
    pub tokens: TokenStream,
    pub int: Option<i64>,
}

fn lit(v: f64) -> Literal {
    Literal::f64_unsuffixed(v)
}

/// The contribution of `y = prim(args)` to the adjoint of argument `i`,
/// given the upstream adjoint `g`; `None` when the local derivative is zero.
pub fn pullback(prim: Prim, i: usize, args: &[Arg], y: &Ident, g: &Ident) -> Option<TokenStream> {
    let a = &args[0].tokens;
    let b = args.get(1).map(|x| &x.tokens);
    let c = args.get(2).map(|x| &x.tokens);
    let rt = quote!(::autodiff::__rt);
    use Prim::*;
    Some(match (prim, i) {
        (Copy | Add | Fract, _) | (Sub, 0) | (Rem, 0) | (MulAdd, 2) => quote!(#g),
        (Sub, 1) => quote!(-#g),
        (Neg, 0) => quote!(-#g),
        (Mul, 0) | (MulAdd, 0) => quote!(#g * #b),
        (Mul, 1) | (MulAdd, 1) => quote!(#g * #a),
        (Div, 0) => quote!(#g / #b),
        (Div, 1) => quote!(-#g * #y / #b),
        (Rem, 1) => quote!(#g * #rt::rem_dy(#a, #b)),
        (Exp, 0) => quote!(#g * #y),
        (Exp2, 0) => {
            let ln2 = lit(std::f64::consts::LN_2);
            quote!(#g * #y * #ln2)
        }
        (ExpM1, 0) => quote!(#g * (#y + 1.0)),
        (Ln, 0) => quote!(#g / #a),
        (Ln1p, 0) => quote!(#g / (#a + 1.0)),
        (Log, 0) => quote!(#g * #rt::log_dx(#a, #b)),
        (Log, 1) => quote!(#g * #rt::log_dbase(#a, #b)),
        (Log2, 0) => {
            let ln2 = lit(std::f64::consts::LN_2);
            quote!(#g / (#a * #ln2))
        }
        (Log10, 0) => {
            let ln10 = lit(std::f64::consts::LN_10);
            quote!(#g / (#a * #ln10))
        }
        (Sqrt, 0) => quote!(#g * 0.5 / #y),
        (Cbrt, 0) => quote!(#g / (3.0 * #y * #y)),
        (Powi, 0) => match args[1].int {
            Some(0) => return None,
            Some(1) => quote!(#g),
            Some(2) => quote!(#g * 2.0 * #a),
            Some(n) => {
                let nf = lit(n as f64);
                let m = Literal::i64_unsuffixed(n - 1);
                quote!(#g * #nf * #a.powi(#m))
            }
            None => quote!(#g * #rt::powi_dx(#a, #b)),
        },
        (Powf, 0) => quote!(#g * #b * #a.powf(#b - 1.0)),
        (Powf, 1) => quote!(#g * #y * #a.ln()),
        (Sin, 0) => quote!(#g * #a.cos()),
        (Cos, 0) => quote!(-#g * #a.sin()),
        (Tan, 0) => quote!(#g * (1.0 + #y * #y)),
        (Asin, 0) => quote!(#g / (1.0 - #a * #a).sqrt()),
        (Acos, 0) => quote!(-#g / (1.0 - #a * #a).sqrt()),
        (Atan, 0) => quote!(#g / (1.0 + #a * #a)),
        (Atan2, 0) => quote!(#g * #b / (#a * #a + #b * #b)),
        (Atan2, 1) => quote!(-#g * #a / (#a * #a + #b * #b)),
        (Sinh, 0) => quote!(#g * #a.cosh()),
        (Cosh, 0) => quote!(#g * #a.sinh()),
        (Tanh, 0) => quote!(#g * (1.0 - #y * #y)),
        (Asinh, 0) => quote!(#g / (#a * #a + 1.0).sqrt()),
        (Acosh, 0) => quote!(#g / (#a * #a - 1.0).sqrt()),
        (Atanh, 0) => quote!(#g / (1.0 - #a * #a)),
        (Abs, 0) => quote!(#g * #rt::abs_slope(#a)),
        (Recip, 0) => quote!(-#g * #y * #y),
        (Hypot, 0) => quote!(#g * #a / #y),
        (Hypot, 1) => quote!(#g * #b / #y),
        (Max, 0) => quote!(#g * #rt::max_share(#a, #b)),
        (Max, 1) => quote!(#g * #rt::max_share(#b, #a)),
        (Min, 0) => quote!(#g * #rt::min_share(#a, #b)),
        (Min, 1) => quote!(#g * #rt::min_share(#b, #a)),
        (Clamp, 0) => quote!(#g * #rt::clamp_dx(#a, #b, #c)),
        (Clamp, 1) => quote!(#g * #rt::clamp_dlo(#a, #b, #c)),
        (Clamp, 2) => quote!(#g * #rt::clamp_dhi(#a, #b, #c)),
        (ToDegrees, 0) => {
            let k = lit(180.0 / std::f64::consts::PI);
            quote!(#g * #k)
        }
        (ToRadians, 0) => {
            let k = lit(std::f64::consts::PI / 180.0);
            quote!(#g * #k)
        }
        (Sigmoid, 0) => quote!(#g * (1.0 - #y) * #y),
        (Relu, 0) => quote!(#g * #rt::relu_slope(#a)),
        (Softplus, 0) => quote!(#g * #rt::sigmoid(#a)),
        (CastFloat, 0) => quote!(#rt::cast_back(#g, #a)),
        // An argument position the primitive does not differentiate
        // (e.g. the integer exponent of `powi`).
        _ => return None,
    })
}
