//! `#[custom_grad(pullback)]`: a function differentiated by a rule the user
//! writes, the analogue of PyTorch's `autograd.Function`.
//!
//! The user gives `f` and `pullback(args..., y, cotangent) -> grads`, where
//! `y` is `f`'s value (what the forward pass "saves for backward") and
//! `grads` has the shape `f_grad` returns: one entry per float parameter,
//! bare when there is one. The macro adds `f_grad`, `f_pullback`, and the
//! `f_vjp` and `f_grad_vjp` that `#[grad]` callers use, all by calling the
//! two functions.

use crate::attr::Args;
use crate::ctxt::Ctxt;
use crate::signature::{self, grad_type, ParamKind};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, ToTokens};

pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let err = syn::Error::new_spanned(
                &item,
                "#[custom_grad(pullback)] goes on a function (`fn f(x: f64) -> f64 { ... }`)",
            )
            .to_compile_error();
            return quote!(#err #item);
        }
    };
    let pullback: syn::Path = match syn::parse2(attr.clone()) {
        Ok(p) => p,
        Err(_) => {
            let err = syn::Error::new_spanned(
                if attr.is_empty() { func.sig.ident.to_token_stream() } else { attr },
                "#[custom_grad] needs the pullback function: `#[custom_grad(f_rule)]` with `fn f_rule(args..., y, cotangent) -> gradients`",
            )
            .to_compile_error();
            return quote!(#err #func);
        }
    };
    let cx = Ctxt::new();
    let generated =
        signature::read(&cx, &func, &Args::default()).map(|sig| generate(&func, &sig, &pullback));
    let errors = cx.into_compile_errors();
    quote! {
        #func
        #errors
        #generated
    }
}

fn generate(func: &syn::ItemFn, sig: &signature::Signature, pullback: &syn::Path) -> TokenStream {
    let fname = &func.sig.ident;
    let vis = &func.vis;
    let generics = &func.sig.generics;
    let where_clause = &generics.where_clause;
    let ret_ty = &sig.ret_ty;
    let grad_name = format_ident!("{}_grad", fname);
    let pull_name = format_ident!("{}_pullback", fname);
    let vjp_name = format_ident!("{}_vjp", fname);
    let grad_vjp_name = format_ident!("{}_grad_vjp", fname);
    let names: Vec<TokenStream> = sig
        .params
        .iter()
        .enumerate()
        .map(|(i, p)| match &p.ident {
            Some(id) => id.to_token_stream(),
            None => format_ident!("arg{}", i).to_token_stream(),
        })
        .collect();
    let params: Vec<TokenStream> = sig
        .params
        .iter()
        .zip(&names)
        .map(|(p, n)| {
            let ty = &p.ty;
            quote!(#n: #ty)
        })
        .collect();
    // The forward call may not consume what the rule still needs.
    let fwd_args: Vec<TokenStream> = sig
        .params
        .iter()
        .zip(&names)
        .map(|(p, n)| {
            if matches!(p.ty, syn::Type::Path(_)) && matches!(p.kind, ParamKind::Vector) {
                quote!(::core::clone::Clone::clone(&#n))
            } else {
                n.clone()
            }
        })
        .collect();
    let diff: Vec<usize> = (0..sig.params.len())
        .filter(|&i| !matches!(sig.params[i].kind, ParamKind::Constant))
        .collect();
    let grad_tys: Vec<TokenStream> = diff
        .iter()
        .map(|&i| grad_type(&sig.params[i]).to_token_stream())
        .collect();
    let grads_ty = if grad_tys.len() == 1 {
        grad_tys[0].clone()
    } else {
        quote!((#(#grad_tys),*))
    };
    let gnames: Vec<_> = (0..diff.len())
        .map(|k| proc_macro2::Ident::new(&format!("g{k}"), proc_macro2::Span::mixed_site()))
        .collect();
    let gpat = if gnames.len() == 1 {
        gnames[0].to_token_stream()
    } else {
        quote!((#(#gnames),*))
    };
    let entries: Vec<TokenStream> = (0..sig.params.len())
        .map(|i| match diff.iter().position(|&d| d == i) {
            Some(k) => gnames[k].to_token_stream(),
            None => quote!(()),
        })
        .collect();
    let entry_tys: Vec<TokenStream> = (0..sig.params.len())
        .map(|i| match diff.iter().position(|&d| d == i) {
            Some(k) => grad_tys[k].clone(),
            None => quote!(()),
        })
        .collect();
    // Hygienic locals: a user parameter called `y` or `g0` keeps its meaning.
    let y = proc_macro2::Ident::new("y", proc_macro2::Span::mixed_site());
    let g = proc_macro2::Ident::new("g", proc_macro2::Span::mixed_site());
    let cot = proc_macro2::Ident::new("cotangent", proc_macro2::Span::mixed_site());
    let doc = format!(
        " Value and gradient of [`{fname}`], by its custom rule [`{}`].",
        pullback.to_token_stream().to_string().replace(' ', "")
    );
    let pdoc = format!(" Pullback of [`{fname}`] by its custom rule.");
    // f_vjp_into: the rule's vector gradients added into the caller's
    // destinations, the other entries returned.
    let into_name = format_ident!("{}_vjp_into", fname);
    let (dst_tys, into_tys): (Vec<TokenStream>, Vec<TokenStream>) =
        sig.params.iter().map(signature::into_types).unzip();
    let dsts: Vec<_> = (0..sig.params.len())
        .map(|i| proc_macro2::Ident::new(&format!("dst{i}"), proc_macro2::Span::mixed_site()))
        .collect();
    let dsts_arg = proc_macro2::Ident::new("dsts", proc_macro2::Span::mixed_site());
    let mut into_adds = Vec::new();
    let into_entries: Vec<TokenStream> = (0..sig.params.len())
        .map(|i| match diff.iter().position(|&d| d == i) {
            Some(k) if matches!(sig.params[i].kind, ParamKind::Vector) => {
                let (dst, gk) = (&dsts[i], &gnames[k]);
                into_adds.push(quote!(::autodiff::__rt::VectorDst::add(#dst, &#gk);));
                quote!(())
            }
            Some(k) => gnames[k].to_token_stream(),
            None => quote!(()),
        })
        .collect();
    let allow = quote!(#[allow(dead_code, clippy::all)]);
    quote! {
        #[doc = #doc]
        #allow
        #vis fn #grad_name #generics (#(#params),*) -> (#ret_ty, #grads_ty) #where_clause {
            let #y = #fname(#(#fwd_args),*);
            let #g = #pullback(#(#names,)* #y, 1.0);
            (#y, #g)
        }

        #[doc = #pdoc]
        #allow
        #vis fn #pull_name #generics (#(#params,)* #cot: #ret_ty) -> #grads_ty #where_clause {
            let #y = #fname(#(#fwd_args),*);
            #pullback(#(#names,)* #y, #cot)
        }

        #[doc(hidden)]
        #allow
        #vis fn #vjp_name #generics (#(#params,)* #cot: #ret_ty) -> (#(#entry_tys,)*) #where_clause {
            let #y = #fname(#(#fwd_args),*);
            let #gpat = #pullback(#(#names,)* #y, #cot);
            (#(#entries,)*)
        }

        #[doc(hidden)]
        #allow
        #vis fn #grad_vjp_name #generics (#(#params),*) -> (#ret_ty, (#(#entry_tys,)*)) #where_clause {
            let #y = #fname(#(#fwd_args),*);
            let #gpat = #pullback(#(#names,)* #y, 1.0);
            (#y, (#(#entries,)*))
        }

        #[doc(hidden)]
        #allow
        #vis fn #into_name #generics (#(#params,)* #cot: #ret_ty, #dsts_arg: (#(#dst_tys,)*)) -> (#ret_ty, (#(#into_tys,)*)) #where_clause {
            let (#(#dsts,)*) = #dsts_arg;
            let #y = #fname(#(#fwd_args),*);
            let #gpat = #pullback(#(#names,)* #y, #cot);
            #(#into_adds)*
            (#y, (#(#into_entries,)*))
        }
    }
}
