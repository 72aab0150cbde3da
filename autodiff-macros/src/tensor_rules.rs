//! The tensor rule table: which runtime operations `#[grad]` differentiates,
//! how their arguments are passed, and where their pullbacks are.
//!
//! Scalar primitives get their local derivative written out as a template
//! ([`crate::rules`]); a tensor operation's vector-Jacobian product is a
//! kernel (a GEMM, a col2im), so the rule here only says which runtime
//! function computes it. The runtime's convention fixes the call:
//! `foo_pullback(forward args.., &y, &grad_y)` returns one gradient per
//! differentiable argument. Operations whose arguments' gradients cost a
//! kernel each (matmul, conv) name one pullback per argument instead, so an
//! argument that needs no gradient (the input batch) costs nothing.
//!
//! The forward code always calls the runtime function with the tensors
//! borrowed (`::autodiff::__rt::tensor::matmul(&x, &w1)`), whatever the user
//! wrote (`x.matmul(w1)`, `&a + &b`, `a + b`): every value stays alive for
//! the backward pass without a copy, and the operator and method forms
//! forward to the same function, so the values are the user's bit for bit.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// How an operation takes an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A tensor, differentiable, passed as `&t`.
    T,
    /// An `f32`, differentiable, passed by value (`t * lambda`).
    S,
    /// Not differentiable, passed as written: labels, axes, shapes, the
    /// conv/pool parameters, exponents and slopes.
    C,
    /// conv2d's bias, present: `Some(&b)`, differentiable.
    Bias,
    /// conv2d's bias, absent: `None`; no argument in the IR.
    NoBias,
}

/// Where the vector-Jacobian products are.
#[derive(Clone, Copy, Debug)]
pub enum Pullback {
    /// `name_pullback`, returning every differentiable argument's gradient
    /// (a tuple when there are several).
    Joint,
    /// One function per differentiable argument, in argument order.
    Split(&'static [&'static str]),
}

pub struct Rule {
    /// The runtime function.
    pub name: &'static str,
    /// What the user may call it as: `x.name(..)`, `name(x, ..)`, or only
    /// reached through an operator (`+`, unary `-`).
    pub method: bool,
    pub function: bool,
    pub roles: &'static [Role],
    /// `.item()`: a tensor in, an `f32` out.
    pub to_scalar: bool,
    pub pullback: Pullback,
}

use Role::*;

const fn rule(
    name: &'static str,
    method: bool,
    function: bool,
    roles: &'static [Role],
    pullback: Pullback,
) -> Rule {
    Rule {
        name,
        method,
        function,
        roles,
        to_scalar: false,
        pullback,
    }
}

const J: Pullback = Pullback::Joint;

/// `name_pullback_lhs` / `name_pullback_rhs`: a broadcasting binary
/// operation whose sides' gradients are each a reduction of their own.
macro_rules! split {
    ($name:literal) => {
        Pullback::Split(&[
            concat!($name, "_pullback_lhs"),
            concat!($name, "_pullback_rhs"),
        ])
    };
}

/// The table. Operator-only entries (`method` and `function` false) are
/// reached from `+ - * /` and unary `-` on tensors.
pub const RULES: &[Rule] = &[
    rule("add", false, true, &[T, T], split!("add")),
    rule("sub", false, true, &[T, T], split!("sub")),
    rule("mul", false, true, &[T, T], split!("mul")),
    rule("div", false, true, &[T, T], split!("div")),
    rule("add_scalar", false, true, &[T, S], J),
    rule("sub_scalar", false, true, &[T, S], J),
    rule("scalar_sub", false, true, &[S, T], J),
    rule("mul_scalar", false, true, &[T, S], J),
    rule("div_scalar", false, true, &[T, S], J),
    rule("scalar_div", false, true, &[S, T], J),
    rule("neg", false, true, &[T], J),
    rule("maximum", true, true, &[T, T], split!("maximum")),
    rule("minimum", true, true, &[T, T], split!("minimum")),
    rule("exp", true, true, &[T], J),
    rule("ln", true, true, &[T], J),
    rule("sqrt", true, true, &[T], J),
    rule("sqr", true, true, &[T], J),
    rule("tanh", true, true, &[T], J),
    rule("sigmoid", true, true, &[T], J),
    rule("relu", true, true, &[T], J),
    rule("powf", true, true, &[T, C], J),
    rule("leaky_relu", true, true, &[T, C], J),
    rule("sum", true, true, &[T], J),
    rule("mean", true, true, &[T], J),
    rule("sum_axis", true, true, &[T, C, C], J),
    rule("mean_axis", true, true, &[T, C, C], J),
    rule("reshape", true, true, &[T, C], J),
    rule("flatten", true, true, &[T], J),
    rule("transpose", true, true, &[T], J),
    rule("permute", true, true, &[T, C], J),
    rule("softmax", true, true, &[T], J),
    rule("log_softmax", true, true, &[T], J),
    rule("softmax_cross_entropy", false, true, &[T, C], J),
    rule("multiclass_hinge", false, true, &[T, C], J),
    rule("mse", false, true, &[T, T], J),
    rule("l2", false, true, &[T], J),
    rule("max_pool2d", false, true, &[T, C], J),
    rule("avg_pool2d", false, true, &[T, C], J),
    rule(
        "matmul",
        true,
        true,
        &[T, T],
        Pullback::Split(&["matmul_pullback_lhs", "matmul_pullback_rhs"]),
    ),
    rule(
        "conv2d",
        false,
        true,
        &[T, T, Bias, C],
        Pullback::Split(&[
            "conv2d_pullback_input",
            "conv2d_pullback_weight",
            "conv2d_pullback_bias",
        ]),
    ),
    rule(
        "conv2d",
        false,
        false,
        &[T, T, NoBias, C],
        Pullback::Split(&["conv2d_pullback_input", "conv2d_pullback_weight"]),
    ),
    Rule {
        name: "item",
        method: true,
        function: false,
        roles: &[T],
        to_scalar: true,
        pullback: J,
    },
];

/// An entry of [`RULES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorOp(pub usize);

impl TensorOp {
    pub fn rule(self) -> &'static Rule {
        &RULES[self.0]
    }

    /// The roles of the IR arguments (without the absent bias).
    pub fn arg_roles(self) -> impl Iterator<Item = Role> {
        self.rule().roles.iter().copied().filter(|r| *r != NoBias)
    }
}

fn find(pred: impl Fn(&Rule) -> bool) -> Option<TensorOp> {
    RULES.iter().position(pred).map(TensorOp)
}

/// `recv.name(args)` on a tensor receiver; `nargs` counts the receiver.
pub fn method(name: &str, nargs: usize) -> Option<TensorOp> {
    find(|r| r.method && r.name == name && r.roles.len() == nargs)
}

/// Whether a tensor method of this name exists with another arity.
pub fn method_arity(name: &str) -> Option<usize> {
    RULES
        .iter()
        .find(|r| r.method && r.name == name)
        .map(|r| r.roles.len())
}

/// `name(args)`; `bias`: for conv2d, whether the bias is `Some(..)`.
pub fn function(name: &str, nargs: usize, bias: bool) -> Option<TensorOp> {
    if name == "conv2d" && nargs == 4 {
        return find(|r| r.name == "conv2d" && r.roles.contains(&Bias) == bias);
    }
    find(|r| r.function && r.name == name && r.roles.len() == nargs)
}

/// Whether `name` is a tensor function of the runtime (for errors).
pub fn is_function(name: &str) -> bool {
    RULES.iter().any(|r| r.function && r.name == name)
}

pub fn by_name(name: &str) -> TensorOp {
    find(|r| r.name == name).expect("a name from this table")
}

/// `a op b` with at least one tensor side: the operation, and whether the
/// arguments are swapped (`s * t` is `mul_scalar(t, s)`, exact because
/// float addition and multiplication commute).
pub fn binary(op: char, left_tensor: bool, right_tensor: bool) -> Option<(TensorOp, bool)> {
    let (name, swap) = match (op, left_tensor, right_tensor) {
        ('+', true, true) => ("add", false),
        ('-', true, true) => ("sub", false),
        ('*', true, true) => ("mul", false),
        ('/', true, true) => ("div", false),
        ('+', true, false) => ("add_scalar", false),
        ('-', true, false) => ("sub_scalar", false),
        ('*', true, false) => ("mul_scalar", false),
        ('/', true, false) => ("div_scalar", false),
        ('+', false, true) => ("add_scalar", true),
        ('-', false, true) => ("scalar_sub", false),
        ('*', false, true) => ("mul_scalar", true),
        ('/', false, true) => ("scalar_div", false),
        _ => return None,
    };
    Some((by_name(name), swap))
}

/// The arguments as passed to the runtime function: tensors borrowed, the
/// bias wrapped, `None` for an absent bias. `args` are the IR operands'
/// tokens.
fn passed(op: TensorOp, args: &[TokenStream]) -> Vec<TokenStream> {
    let mut it = args.iter();
    op.rule()
        .roles
        .iter()
        .map(|role| match role {
            T => {
                let a = it.next().expect("one token stream per argument");
                quote!(&#a)
            }
            Bias => {
                let a = it.next().expect("one token stream per argument");
                quote!(::core::option::Option::Some(&#a))
            }
            NoBias => quote!(::core::option::Option::None),
            S | C => it.next().expect("one token stream per argument").clone(),
        })
        .collect()
}

/// The forward call.
pub fn forward(op: TensorOp, args: &[TokenStream]) -> TokenStream {
    let rt = quote!(::autodiff::__rt::tensor);
    let r = op.rule();
    let a = passed(op, args);
    if r.to_scalar {
        return quote!(#rt::Tensor::item(#(#a),*));
    }
    let name = format_ident!("{}", r.name);
    quote!(#rt::#name(#(#a),*))
}

/// The gradients of `y = op(args)` for the IR arguments `want` (positions
/// with a differentiable role), given the output `y` and its adjoint `g`:
/// the lines to emit first, then one expression per wanted argument. Each
/// expression is a fresh value the caller may move.
pub fn pullback(
    op: TensorOp,
    args: &[TokenStream],
    y: &TokenStream,
    g: &TokenStream,
    want: &[usize],
    fresh: &mut dyn FnMut(usize) -> proc_macro2::Ident,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let rt = quote!(::autodiff::__rt::tensor);
    let r = op.rule();
    let a = passed(op, args);
    let (y, g) = if r.to_scalar {
        (y.clone(), g.clone())
    } else {
        (quote!(&#y), quote!(&#g))
    };
    // Each wanted argument's place among the differentiable ones, which is
    // its place in the pullback's result.
    let diff: Vec<usize> = op
        .arg_roles()
        .enumerate()
        .filter(|(_, role)| matches!(role, T | S | Bias))
        .map(|(i, _)| i)
        .collect();
    let slot = |i: &usize| {
        diff.iter()
            .position(|d| d == i)
            .expect("a differentiable position")
    };
    match r.pullback {
        Pullback::Split(fns) => {
            let exprs = want
                .iter()
                .map(|i| {
                    let f = format_ident!("{}", fns[slot(i)]);
                    quote!(#rt::#f(#(#a,)* #y, #g))
                })
                .collect();
            (Vec::new(), exprs)
        }
        Pullback::Joint => {
            let f = format_ident!("{}_pullback", r.name);
            let call = quote!(#rt::#f(#(#a,)* #y, #g));
            if diff.len() == 1 {
                return (Vec::new(), vec![call]);
            }
            let names: Vec<Option<proc_macro2::Ident>> = diff
                .iter()
                .map(|d| want.contains(d).then(|| fresh(*d)))
                .collect();
            let pats = names.iter().map(|n| match n {
                Some(n) => quote!(#n),
                None => quote!(_),
            });
            let line = quote!(let (#(#pats,)*) = #call;);
            let exprs = want
                .iter()
                .map(|i| {
                    let n = names[slot(i)].as_ref().expect("wanted");
                    quote!(#n)
                })
                .collect();
            (vec![line], exprs)
        }
    }
}
