//! Reads the signature: which parameters are differentiable, and the
//! (scalar) return type. A proc macro sees no types, so this works on the
//! written type syntax and refuses what it cannot classify rather than guess.

use crate::attr::Args;
use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use syn::{FnArg, Ident, ItemFn, Pat, ReturnType, Type};

/// The float types `#[grad]` differentiates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Float {
    F32,
    F64,
}

/// How a parameter takes part in differentiation.
#[derive(Clone, Debug)]
pub enum ParamKind {
    /// An `f32`/`f64` input with an entry in the gradient.
    Scalar,
    /// `&[f64]`, `[f64; N]`, `Vec<f64>` (and `f32`): the gradient is a
    /// vector of the same length (`Vec<_>`, or `[_; N]` for arrays).
    Vector,
    /// A runtime `Tensor` or `&Tensor`: the gradient is an owned `Tensor`.
    Tensor,
    /// A value the gradient does not depend on (integers, `bool`, labels, or
    /// a float left out by `wrt(...)`).
    Constant,
}

#[derive(Clone)]
pub struct Param {
    /// `None` for a `_` pattern.
    pub ident: Option<Ident>,
    pub ty: Type,
    pub kind: ParamKind,
    /// Attributes written on the parameter, kept on the generated functions.
    pub attrs: Vec<syn::Attribute>,
}

#[derive(Clone)]
pub struct Signature {
    pub params: Vec<Param>,
    pub ret_ty: Type,
    /// The parameters the function writes into (`out: &mut [f64]`), as the
    /// body names them: a call passing one on (`g(x, out)`) writes into it
    /// ([`crate::output`]).
    pub outputs: Vec<Ident>,
}

pub fn float_of(ty: &Type) -> Option<Float> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            if !last.arguments.is_none() {
                return None;
            }
            // `f64`, `core::primitive::f64`, `std::primitive::f64`
            let single = p.path.segments.len() == 1 && p.path.leading_colon.is_none();
            let prim = p.path.segments.len() == 3
                && matches!(
                    p.path.segments[0].ident.to_string().as_str(),
                    "core" | "std"
                )
                && p.path.segments[1].ident == "primitive";
            if !(single || prim) {
                return None;
            }
            if last.ident == "f64" {
                Some(Float::F64)
            } else if last.ident == "f32" {
                Some(Float::F32)
            } else {
                None
            }
        }
        Type::Group(g) => float_of(&g.elem),
        Type::Paren(p) => float_of(&p.elem),
        _ => None,
    }
}

const CONSTANT_TYPES: &[&str] = &[
    "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize", "bool",
    "char", "str", "String",
];

/// Types whose values never carry a derivative (`&[usize]` labels too).
fn is_constant_type(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.segments.len() == 1 => {
            let seg = &p.path.segments[0];
            seg.arguments.is_none() && CONSTANT_TYPES.iter().any(|t| seg.ident == t)
        }
        Type::Reference(r) => is_constant_type(&r.elem),
        Type::Slice(s) => is_constant_type(&s.elem),
        Type::Array(a) => is_constant_type(&a.elem),
        Type::Group(g) => is_constant_type(&g.elem),
        Type::Paren(p) => is_constant_type(&p.elem),
        _ => false,
    }
}

/// The element type of a float vector parameter, and the type of its
/// gradient: `&[T]`, `Vec<T>`, `&Vec<T>` → `Vec<T>`; `[T; N]`, `&[T; N]` →
/// `[T; N]`.
pub fn float_vector(ty: &Type) -> Option<Type> {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => float_vector(&r.elem),
        // Behind a reference only (`&[T]`): a parameter cannot be unsized.
        Type::Slice(s) => {
            float_of(&s.elem)?;
            let e = &s.elem;
            Some(syn::parse_quote!(::std::vec::Vec<#e>))
        }
        Type::Array(a) => {
            float_of(&a.elem)?;
            Some(Type::Array(a.clone()))
        }
        Type::Path(p) => {
            let s = p.path.segments.last()?;
            if s.ident != "Vec" {
                return None;
            }
            match &s.arguments {
                syn::PathArguments::AngleBracketed(a) => match a.args.first()? {
                    syn::GenericArgument::Type(t) if float_of(t).is_some() => {
                        Some(syn::parse_quote!(::std::vec::Vec<#t>))
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        Type::Group(g) => float_vector(&g.elem),
        Type::Paren(p) => float_vector(&p.elem),
        _ => None,
    }
}

/// The tensor type of a `Tensor` or `&Tensor` parameter, as written
/// (`Tensor`, `tensor::Tensor`, ...), without the reference: the type of
/// its gradient. A macro sees no imports, so any path ending in a plain
/// `Tensor` is taken to be the runtime's; another type of that name fails
/// to compile against the runtime's calls.
pub fn tensor_type(ty: &Type) -> Option<Type> {
    match ty {
        Type::Reference(r) if r.mutability.is_none() => tensor_type(&r.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            (last.ident == "Tensor" && last.arguments.is_none()).then(|| ty.clone())
        }
        Type::Group(g) => tensor_type(&g.elem),
        Type::Paren(p) => tensor_type(&p.elem),
        _ => None,
    }
}

/// `&[Tensor]`, `[Tensor; N]`, `Vec<Tensor>`: not differentiable (yet).
fn tensor_collection(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => tensor_collection(&r.elem),
        Type::Slice(s) => tensor_type(&s.elem).is_some(),
        Type::Array(a) => tensor_type(&a.elem).is_some(),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            s.ident == "Vec"
                && matches!(&s.arguments, syn::PathArguments::AngleBracketed(a)
                    if matches!(a.args.first(), Some(syn::GenericArgument::Type(t)) if tensor_type(t).is_some()))
        }),
        _ => false,
    }
}

/// The IR kind of a constant parameter's type.
pub fn kind_of_type(ty: &Type) -> crate::ir::Kind {
    if tensor_type(ty).is_some() {
        crate::ir::Kind::Tensor
    } else if float_vector(ty).is_some() {
        crate::ir::Kind::Vector
    } else if float_of(ty).is_some() {
        crate::ir::Kind::Scalar
    } else {
        crate::ir::Kind::Other
    }
}

/// The gradient type of a differentiable parameter.
pub fn grad_type(p: &Param) -> Type {
    match p.kind {
        ParamKind::Vector => float_vector(&p.ty).expect("classified as a vector"),
        ParamKind::Tensor => tensor_type(&p.ty).expect("classified as a tensor"),
        _ => p.ty.clone(),
    }
}

/// The `f_vjp_into` calling convention for one parameter: the destination a
/// caller passes (for a vector, any `VectorDst`: `&mut [T]`, into which the
/// callee adds its gradient, or `()` for a constant argument; `()`
/// otherwise) and the entry it gets back (a scalar's or a tensor's gradient;
/// `()` otherwise).
pub fn into_types(p: &Param) -> (TokenStream, TokenStream) {
    match p.kind {
        ParamKind::Vector => {
            let elem = vector_elem(p);
            (quote!(impl ::autodiff::__rt::VectorDst<#elem>), quote!(()))
        }
        ParamKind::Constant => (quote!(()), quote!(())),
        _ => (quote!(()), grad_type(p).to_token_stream()),
    }
}

/// The element type of a vector parameter's gradient (`T` of `Vec<T>` or
/// `[T; N]`).
pub fn vector_elem(p: &Param) -> TokenStream {
    match grad_type(p) {
        Type::Array(a) => a.elem.to_token_stream(),
        Type::Path(t) => match &t.path.segments.last().expect("Vec").arguments {
            syn::PathArguments::AngleBracketed(a) => a.args.to_token_stream(),
            _ => unreachable!("a vector's gradient is a Vec<T>"),
        },
        _ => unreachable!("a vector's gradient is a Vec<T> or an array"),
    }
}

/// Whether a parameter is a shared reference (`&[f64]`, `&Vec<f64>`,
/// `&[f64; N]`): the function cannot write its elements, so the adjoint
/// only ever has contributions added to it and can be the caller's own.
pub fn borrowed(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => r.mutability.is_none(),
        Type::Group(g) => borrowed(&g.elem),
        Type::Paren(p) => borrowed(&p.elem),
        _ => false,
    }
}

pub fn read(cx: &Ctxt, func: &ItemFn, args: &Args) -> Option<Signature> {
    let sig = &func.sig;
    if let Some(t) = &sig.asyncness {
        cx.error_spanned_by(t, "#[grad] does not support `async fn`: differentiate a plain `fn` and call it from async code");
    }
    if let Some(t) = &sig.unsafety {
        cx.error_spanned_by(
            t,
            "#[grad] does not support `unsafe fn`: differentiate a safe function",
        );
    }
    if let Some(abi) = &sig.abi {
        cx.error_spanned_by(abi, "#[grad] does not support `extern` functions: differentiate a plain Rust `fn` and wrap it");
    }
    if let Some(v) = &sig.variadic {
        cx.error_spanned_by(v, "#[grad] does not support variadic functions");
    }

    let mut params = Vec::new();
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(r) => cx.error_spanned_by(
                r,
                "#[grad] does not support methods taking `self`: write a free function (or an associated function) that takes the values it needs as parameters",
            ),
            FnArg::Typed(pt) => {
                let ident = match &*pt.pat {
                    Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                        Some(pi.ident.clone())
                    }
                    Pat::Wild(_) => None,
                    other => {
                        cx.error_spanned_by(
                            other,
                            "#[grad] does not support patterns in parameters: bind the parameter to a plain name (`x: f64`) and destructure it in the body",
                        );
                        continue;
                    }
                };
                params.push(Param {
                    ident,
                    ty: (*pt.ty).clone(),
                    kind: ParamKind::Constant,
                    attrs: pt.attrs.clone(),
                });
            }
        }
    }

    // Which parameters are differentiable: all float ones, or exactly `wrt(...)`.
    if let Some(wrt) = &args.wrt {
        for (i, name) in wrt.iter().enumerate() {
            if wrt[..i].iter().any(|n| n == name) {
                cx.error_spanned_by(name, format!("`{name}` is listed twice in `wrt(...)`"));
            } else if !params.iter().any(|p| p.ident.as_ref() == Some(name)) {
                cx.error_spanned_by(
                    name,
                    format!("`wrt({name})`: this function has no parameter named `{name}`"),
                );
            }
        }
    }
    for p in &mut params {
        let wanted = match (&args.wrt, &p.ident) {
            (Some(wrt), Some(id)) => Some(wrt.iter().find(|n| *n == id)),
            (Some(_), None) => Some(None),
            (None, _) => None,
        };
        p.kind = classify(cx, p, wanted);
    }

    let ret_ty = match &sig.output {
        ReturnType::Default => {
            cx.error_spanned_by(
                &sig.ident,
                "#[grad] needs a function that returns `f32` or `f64`: the gradient is taken of a scalar output",
            );
            return None;
        }
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    if tensor_type(&ret_ty).is_some() {
        cx.error_spanned_by(
            &ret_ty,
            "#[grad] needs a scalar `f32` or `f64` return type, found a tensor: return the loss as a number with `.item()` (e.g. `softmax_cross_entropy(&scores, labels).item()`)",
        );
        return None;
    }
    if float_of(&ret_ty).is_none() {
        {
            cx.error_spanned_by(
                &ret_ty,
                format!(
                    "#[grad] needs a scalar `f32` or `f64` return type, found `{}`: return the scalar (e.g. the loss) whose gradient you want",
                    type_string(&ret_ty)
                ),
            );
            return None;
        }
    }

    if !cx.has_errors()
        && !params
            .iter()
            .any(|p| !matches!(p.kind, ParamKind::Constant))
    {
        cx.error_spanned_by(
            &sig.inputs,
            "#[grad] found no differentiable parameter: give the function an `f32`/`f64` parameter (or a slice, array or `Vec` of them, or a `Tensor`) to differentiate with respect to",
        );
    }
    Some(Signature {
        params,
        ret_ty,
        outputs: Vec::new(),
    })
}

/// `wanted`: `None` without `wrt(...)`, else the `wrt` entry naming the
/// parameter, if any.
fn classify(cx: &Ctxt, p: &Param, wanted: Option<Option<&Ident>>) -> ParamKind {
    let ty = &p.ty;
    if float_of(ty).is_some() || float_vector(ty).is_some() || tensor_type(ty).is_some() {
        return match wanted {
            Some(None) => ParamKind::Constant,
            _ if float_of(ty).is_some() => ParamKind::Scalar,
            _ if tensor_type(ty).is_some() => ParamKind::Tensor,
            _ => ParamKind::Vector,
        };
    }
    let name = p
        .ident
        .as_ref()
        .map_or_else(|| "_".to_string(), |i| i.to_string());
    if wanted == Some(None) {
        return ParamKind::Constant;
    }
    if let Type::Reference(r) = ty {
        // (`&mut [T]` is an output parameter: `crate::output`.)
        if r.mutability.is_some() && float_of(&r.elem).is_some() {
            cx.error_spanned_by(
                ty,
                format!(
                    "#[grad] does not support writing a number through a `&mut` parameter (`{name}: {}`): return it, or write it into an output vector (`{name}: &mut [{}]`)",
                    type_string(ty),
                    type_string(&r.elem)
                ),
            );
            return ParamKind::Constant;
        }
    }
    if tensor_collection(ty) {
        cx.error_spanned_by(
            ty,
            format!(
                "#[grad] does not support collections of tensors (`{name}: {}`): pass each layer's tensors as a parameter of its own (`w1: &Tensor, w2: &Tensor`), or leave `{name}` out with #[grad(wrt(...))] to use it as a constant",
                type_string(ty)
            ),
        );
        return ParamKind::Constant;
    }
    if is_constant_type(ty) {
        if let Some(Some(entry)) = wanted {
            cx.error_spanned_by(
                entry,
                format!(
                    "`wrt({name})`: `{name}` has type `{}`, which has no derivative; list only `f32`/`f64` parameters",
                    type_string(ty)
                ),
            );
        }
        return ParamKind::Constant;
    }
    cx.error_spanned_by(
        ty,
        format!(
            "#[grad] cannot tell whether parameter `{name}` of type `{}` is differentiable (a macro sees no type aliases or generics): write `f32`/`f64` (or `&[f64]`, `[f64; N]`, `Vec<f64>`, `Tensor`, `&Tensor`) for a differentiable value, or list the differentiable parameters with #[grad(wrt(...))] so the others are constants",
            type_string(ty)
        ),
    );
    ParamKind::Constant
}

/// A type as a user writes it (`&[f64]`, not the token spacing `& [f64]`).
pub fn type_string(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace("& ", "&")
        .replace("[ ", "[")
        .replace(" ]", "]")
        .replace(" ;", ";")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
}
