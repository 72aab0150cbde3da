//! Functions that write into a vector: `fn h(x: &[f64], out: &mut [f64])`.
//!
//! Such a function maps its arguments and `out`'s initial contents to
//! `out`'s final contents, a vector. Its pullback at a cotangent `w` of the
//! final contents is the gradient of the scalar `⟨w, out_final⟩`, so the
//! macro writes that scalar function from the user's and differentiates it
//! with the pipeline every function goes through:
//!
//! ```text
//! fn h_autodiff_out(x: &[f64], out: &[f64], autodiff_cotangent: &[f64]) -> f64 {
//!     let mut out = out.to_vec();
//!     /* the body, `return;` leaving the loop this wraps it in */
//!     /* Σ out[i] · autodiff_cotangent[i] */
//! }
//! ```
//!
//! The initial contents are a differentiable vector parameter like any
//! other (the body may read them: `out[i] += ...`), the cotangent a
//! constant. A `#[grad]` caller's `h(x, &mut v)` pulls `v`'s adjoint back
//! through `h_autodiff_out_vjp(_into)` (`lower`'s out calls, `reverse`);
//! users get `h_pullback(x, out, cotangent)`. The user's `h` is left as
//! written and is what the forward code calls.

use crate::attr::Args;
use crate::ctxt::Ctxt;
use crate::signature::{float_of, float_vector, type_string, ParamKind};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::visit_mut::VisitMut;
use syn::{FnArg, ItemFn, Pat, ReturnType, Type};

/// The suffix of the scalar function written for `h` (`h_autodiff_out`).
const SUFFIX: &str = "_autodiff_out";

/// The scalar function a `#[grad]` caller pulls a call of `path` writing
/// into a vector back through.
pub fn callee(path: &TokenStream) -> TokenStream {
    crate::reverse::callee_path(path, SUFFIX)
}

/// The positions of the parameters `func` writes into: `&mut [T]`,
/// `&mut Vec<T>`, `&mut [T; N]` of a float `T`.
pub fn params(func: &ItemFn) -> Vec<usize> {
    func.sig
        .inputs
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match a {
            FnArg::Typed(pt) => written_elem(&pt.ty).map(|_| i),
            FnArg::Receiver(_) => None,
        })
        .collect()
}

/// `T` of `&mut [T]`, `&mut Vec<T>`, `&mut [T; N]`.
fn written_elem(ty: &Type) -> Option<Type> {
    let Type::Reference(r) = ty else { return None };
    r.mutability?;
    let elem = float_vector(&r.elem)?;
    match elem {
        Type::Array(a) => Some(*a.elem),
        Type::Path(p) => match &p.path.segments.last()?.arguments {
            syn::PathArguments::AngleBracketed(a) => match a.args.first()? {
                syn::GenericArgument::Type(t) if float_of(t).is_some() => Some(t.clone()),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The generated items for `func`, which writes into its parameter
/// `outs[0]`; `None` after reporting why it cannot be differentiated.
pub fn expand(cx: &Ctxt, func: &ItemFn, args: &Args, outs: &[usize]) -> Option<TokenStream> {
    let typed = |i: usize| match &func.sig.inputs[i] {
        FnArg::Typed(pt) => pt.clone(),
        FnArg::Receiver(_) => unreachable!("output parameters are typed"),
    };
    for &i in &outs[1..] {
        let pt = typed(i);
        cx.error_spanned_by(
            &pt.ty,
            format!(
                "#[grad] supports one output parameter per function, and `{}` is a second: write each output vector in a function of its own",
                pt.pat.to_token_stream()
            ),
        );
    }
    let out_param = typed(outs[0]);
    let Pat::Ident(out_pat) = &*out_param.pat else {
        cx.error_spanned_by(
            &out_param.pat,
            "#[grad]: bind the output parameter to a plain name (`out: &mut [f64]`)",
        );
        return None;
    };
    let out = out_pat.ident.clone();
    let unit = match &func.sig.output {
        ReturnType::Default => true,
        ReturnType::Type(_, t) => matches!(&**t, Type::Tuple(tt) if tt.elems.is_empty()),
    };
    if !unit {
        cx.error_spanned_by(
            &func.sig.output,
            format!(
                "#[grad] differentiates a function with an output parameter (`{out}: {}`) as the map to what it writes there, so it must return nothing: drop the return type and write the value into `{out}` too, or compute it in a function of its own",
                type_string(&out_param.ty)
            ),
        );
    }
    if cx.has_errors() {
        return None;
    }
    let Type::Reference(out_ref) = &*out_param.ty else {
        unreachable!("an output parameter is a `&mut` reference")
    };
    let elem = written_elem(&out_param.ty).expect("an output parameter");
    let shared = {
        let mut r = out_ref.clone();
        r.mutability = None;
        Type::Reference(r)
    };

    // The scalar function ⟨cotangent, out_final⟩.
    let cot = syn::Ident::new("autodiff_cotangent", Span::call_site());
    let mut scalar = func.clone();
    scalar.attrs.retain(|a| !a.path().is_ident("doc"));
    scalar.sig.ident = format_ident!("{}{}", func.sig.ident, SUFFIX, span = func.sig.ident.span());
    if let FnArg::Typed(pt) = &mut scalar.sig.inputs[outs[0]] {
        *pt.ty = shared.clone();
        *pt.pat = Pat::Ident(syn::PatIdent {
            mutability: None,
            ..out_pat.clone()
        });
    }
    scalar.sig.inputs.push(syn::parse_quote!(#cot: &[#elem]));
    scalar.sig.output = syn::parse_quote!(-> #elem);
    let mut body = func.block.stmts.clone();
    if let Some(syn::Stmt::Expr(_, semi @ None)) = body.last_mut() {
        *semi = Some(Default::default());
    }
    let mut returns = Returns::default();
    for s in &mut body {
        returns.visit_stmt_mut(s);
    }
    let body = if returns.found {
        let label = returns.label();
        quote!(#label: loop { #(#body)* break #label; })
    } else {
        quote!(#(#body)*)
    };
    let dot = syn::Ident::new("autodiff_dot", Span::call_site());
    let i = syn::Ident::new("autodiff_i", Span::call_site());
    scalar.block = syn::parse_quote!({
        let mut #out = #out.to_vec();
        #body
        let mut #dot: #elem = 0.0;
        for #i in 0..#out.len() {
            #dot += #out[#i] * #cot[#i];
        }
        #dot
    });

    let mut sig = crate::signature::read(cx, &scalar, args)?;
    if let Some(last) = sig.params.last_mut() {
        last.kind = ParamKind::Constant;
    }
    sig.outputs = vec![out.clone()];
    let generated = crate::differentiate(cx, &scalar, &sig)?;
    let hidden = hide(generated);

    // The user's pullback: (args, out's initial contents, cotangent of its
    // final contents) -> the gradients.
    let fname = &func.sig.ident;
    let vis = &func.vis;
    let generics = &func.sig.generics;
    let where_clause = &generics.where_clause;
    let pullback = format_ident!("{}_pullback", fname);
    let target = format_ident!("{}_pullback", scalar.sig.ident);
    let user_cot = syn::Ident::new("cotangent", Span::call_site());
    let mut params = Vec::new();
    let mut forwarded = Vec::new();
    for (i, a) in func.sig.inputs.iter().enumerate() {
        let FnArg::Typed(pt) = a else { continue };
        let name = match &*pt.pat {
            Pat::Ident(pi) => pi.ident.clone(),
            _ => format_ident!("autodiff_arg{}", i),
        };
        let ty = if i == outs[0] {
            shared.clone()
        } else {
            (*pt.ty).clone()
        };
        let pattrs = &pt.attrs;
        params.push(quote!(#(#pattrs)* #name: #ty));
        forwarded.push(name);
    }
    let grads_ty = crate::emit::grads_type(&sig);
    let doc = format!(
        " Pullback of [`{fname}`], generated by `#[grad]`: `{fname}` maps its arguments and the initial contents of `{out}` to the final contents of `{out}`. Given those initial contents and the `{user_cot}` of the final ones (one entry per element), returns the cotangents of the differentiated parameters, `{out}`'s initial contents among them (its entry is zero where `{fname}` overwrites without reading).\n\n # Panics\n\n If `{user_cot}` and `{out}` differ in length."
    );
    let message = format!(
        "{pullback}: the cotangent has {{}} elements, but `{out}` has {{}}: pass one per element of `{out}`"
    );
    let attrs = crate::emit::compile_attrs(func);
    Some(quote! {
        #hidden

        #(#attrs)*
        #[doc = #doc]
        #[allow(dead_code, clippy::all)]
        #vis fn #pullback #generics (#(#params,)* #user_cot: &[#elem]) -> #grads_ty #where_clause {
            ::core::assert!(#user_cot.len() == #out.len(), #message, #user_cot.len(), #out.len());
            #target(#(#forwarded,)* #user_cot, 1.0)
        }
    })
}

/// Marks every generated item of the scalar function hidden: they are the
/// callers' machinery, not the user's interface.
fn hide(generated: TokenStream) -> TokenStream {
    let Ok(mut file) = syn::parse2::<syn::File>(generated.clone()) else {
        return generated;
    };
    // The scalar function itself is not emitted: nothing to mark used.
    file.items
        .retain(|i| !matches!(i, syn::Item::Const(c) if c.ident == "_"));
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Fn(f) => &mut f.attrs,
            syn::Item::Const(c) => &mut c.attrs,
            _ => continue,
        };
        attrs.retain(|a| !a.path().is_ident("doc"));
        attrs.push(syn::parse_quote!(#[doc(hidden)]));
    }
    file.into_token_stream()
}

/// Rewrites `return;` as leaving the loop the body is wrapped in.
#[derive(Default)]
struct Returns {
    found: bool,
}

impl Returns {
    fn label(&self) -> syn::Lifetime {
        syn::Lifetime::new("'autodiff_body", Span::call_site())
    }
}

impl VisitMut for Returns {
    fn visit_expr_mut(&mut self, e: &mut syn::Expr) {
        if let syn::Expr::Return(r) = e {
            let unit = match &r.expr {
                None => true,
                Some(v) => matches!(&**v, syn::Expr::Tuple(t) if t.elems.is_empty()),
            };
            if unit {
                self.found = true;
                let label = self.label();
                *e = syn::parse_quote_spanned!(r.return_token.span=> break #label);
                return;
            }
        }
        syn::visit_mut::visit_expr_mut(self, e);
    }

    // A nested function's `return` is its own; closures are reported by
    // the lowering.
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
