//! The `#[grad]` attribute: compile-time reverse-mode differentiation.
//!
//! Pipeline, one module per stage:
//! `attr` + `signature` (what to differentiate) → `lower` (syn → SSA `ir`)
//! → `activity` (which values need adjoints) → `reverse` (adjoint
//! statements from the `rules` table) → `emit` (`f_grad`, `f_pullback`).
//! Every stage reports into one `ctxt::Ctxt`; the macro never panics on user
//! input.

mod activity;
mod attr;
mod ctxt;
mod custom;
mod distribute;
mod emit;
mod forward;
mod fuse;
mod into;
mod ir;
mod lower;
mod merge;
mod names;
mod output;
mod owned;
mod plan;
mod reuse;
mod reverse;
mod rules;
mod signature;
mod split;
mod tensor_rules;
mod window;

use proc_macro::TokenStream;
use quote::{quote, ToTokens};

/// Differentiates the function it is put on. See the `autodiff` crate docs.
#[proc_macro_attribute]
pub fn grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr.into(), item.into()).into()
}

/// Gives a function a derivative rule written by hand:
/// `#[custom_grad(rule)]` with `fn rule(args..., y, cotangent) -> gradients`.
/// See the `autodiff` crate docs.
#[proc_macro_attribute]
pub fn custom_grad(attr: TokenStream, item: TokenStream) -> TokenStream {
    stacker::grow(EXPANSION_STACK, || custom::expand(attr.into(), item.into())).into()
}

/// Stack for one expansion (virtual memory, touched only as deep as needed).
const EXPANSION_STACK: usize = 256 << 20;

fn expand(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    stacker::grow(EXPANSION_STACK, || expand_on_this_stack(attr, item))
}

fn expand_on_this_stack(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                "#[grad] goes on a function (`fn f(x: f64) -> f64 { ... }`)",
            )
            .to_compile_error();
            return quote!(#err #item);
        }
    };
    let cx = ctxt::Ctxt::new();
    let args = attr::parse(&cx, attr);
    let outs = output::params(&func);
    let generated = if outs.is_empty() {
        signature::read(&cx, &func, &args).and_then(|sig| differentiate(&cx, &func, &sig))
    } else {
        output::expand(&cx, &func, &args, &outs)
    };
    let errors = cx.into_compile_errors();
    quote! {
        #func
        #errors
        #generated
    }
}

/// The generated items for `func` with the signature `sig`: lowered,
/// analysed and emitted.
fn differentiate(
    cx: &ctxt::Ctxt,
    func: &syn::ItemFn,
    sig: &signature::Signature,
) -> Option<proc_macro2::TokenStream> {
    if cx.has_errors() {
        return None;
    }
    let mut names = names::Names::new(func.to_token_stream());
    let mut ir = lower::lower(cx, func, sig, &mut names)?;
    merge::merge_loops(&mut ir);
    reuse::reuse_element_reads(&mut ir);
    let act = activity::analyze(cx, &ir, sig);
    if cx.has_errors() {
        return None;
    }
    Some(emit::emit(func, sig, &ir, &act, &names))
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod hostile_tests;
