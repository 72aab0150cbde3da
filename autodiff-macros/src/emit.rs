//! Emission: `f_grad`, `f_pullback` and the hidden `f_vjp`.
//!
//! Each is the forward sweep followed by the reverse sweep, seeded with `1`
//! (`f_grad`) or the caller's cotangent. `f_vjp` differentiates with respect
//! to every float parameter whatever `wrt(...)` says, and returns one entry
//! per parameter (`()` for constants), so a `#[grad]` function calling `f`
//! can take the cotangents by position. The code of `f_grad` is also
//! formatted into its rustdoc and a `*_GRAD_SOURCE` constant.

use crate::activity::{self, Activity};
use crate::ctxt::Ctxt;
use crate::forward::Forward;
use crate::ir::{Function, Kind, LoopHead, Stmt, VarId};
use crate::names::Names;
use crate::plan::{AdjCat, Plan};
use crate::reverse::{idents_in, operand_tokens, Reverse};
use crate::signature::{grad_type, ParamKind, Signature};
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::ItemFn;

/// The body of one generated function, and the gradient entries it returns.
struct Body {
    tokens: TokenStream,
}

/// Forward and reverse sweeps for one activity; `grads` picks the entries
/// returned after the sweep.
fn body(
    f: &Function,
    act: &Activity,
    names: &Names,
    seed: TokenStream,
    ret_ty: &syn::Type,
    result: impl Fn(&Reverse, &TokenStream) -> TokenStream,
) -> Body {
    let mut plan = Plan::new(f, act);
    // First run: what does the backward pass read?
    {
        let mut scratch = names.clone();
        let none = HashMap::new();
        let mut r = Reverse {
            f,
            act,
            plan: &plan,
            names: &mut scratch,
            grads: HashMap::new(),
            tapes: &none,
            restores: false,
            chain: Vec::new(),
            loop_reads: HashMap::new(),
            top_reads: Vec::new(),
            declared: HashSet::new(),
            seed: seed.clone(),
            ret_ty,
        };
        let lines = r.sweep();
        let mut read = HashSet::new();
        for l in &lines {
            idents_in(l, &mut read);
        }
        let loop_reads = std::mem::take(&mut r.loop_reads);
        let top_reads = std::mem::take(&mut r.top_reads);
        plan.set_needed(
            (0..f.vars.len())
                .map(VarId)
                .filter(|v| read.contains(&f.vars[v.0].ident.to_string()))
                .collect(),
        );
        plan.settle_loops(f, act, loop_reads, &top_reads);
    }
    let mut names = names.clone();
    let mut tapes: HashMap<VarId, Ident> = HashMap::new();
    let loop_vars: HashSet<VarId> = f
        .stmts()
        .into_iter()
        .filter_map(|(s, _, _)| match s {
            Stmt::Loop(l) => match &l.head {
                LoopHead::For { var: Some(v), .. } if !plan.regen.contains(&l.counter) => Some(*v),
                _ => None,
            },
            _ => None,
        })
        .collect();
    for v in 0..f.vars.len() {
        let v = VarId(v);
        let loop_var = loop_vars.contains(&v) && plan.needed.contains(&v);
        if plan.pushed.contains(&v) || loop_var {
            let t = names.fresh(&format!("tape_{}", f.vars[v.0].ident));
            tapes.insert(v, t);
        }
    }
    let fwd = Forward {
        f,
        act,
        plan: &plan,
        tapes: &tapes,
        chain: Default::default(),
    };
    let prelude = fwd.prelude();
    let forward = fwd.block(&f.body);
    let mut r = Reverse {
        f,
        act,
        plan: &plan,
        names: &mut names,
        grads: HashMap::new(),
        tapes: &tapes,
        restores: true,
        chain: Vec::new(),
        loop_reads: HashMap::new(),
        top_reads: Vec::new(),
        declared: HashSet::new(),
        seed,
        ret_ty,
    };
    let backward = r.sweep();
    // The backward pass pops overwritten values back; keep the output first.
    let mut value = operand_tokens(f, &f.ret);
    let mut keep = None;
    if let Some(v) = f.ret.var().filter(|v| plan.taped(*v)) {
        let kept = r.names.fresh("value");
        let x = &f.vars[v.0].ident;
        keep = Some(quote!(let #kept = #x;));
        value = kept.to_token_stream();
    }
    let res = result(&r, &value);
    Body {
        tokens: quote! {
            #(#prelude)*
            #(#forward)*
            #keep
            #(#backward)*
            #res
        },
    }
}

/// The gradient of parameter `v` after the sweep, or its zero.
fn grad_or_zero(r: &Reverse, v: Option<VarId>, kind: &ParamKind) -> TokenStream {
    if let Some(v) = v {
        let live =
            r.act.active(v) && (r.plan.cat[v.0] == AdjCat::Upfront || r.declared.contains(&v));
        if live {
            if let Some(g) = r.grads.get(&v) {
                return g.to_token_stream();
            }
        }
        if matches!(kind, ParamKind::Vector) {
            let x = &r.f.vars[v.0].ident;
            return quote!(::autodiff::__rt::zeros_like(&#x));
        }
    }
    quote!(0.0)
}

pub fn emit(
    func: &ItemFn,
    sig: &Signature,
    f: &Function,
    act: &Activity,
    names: &Names,
) -> TokenStream {
    let fname = &func.sig.ident;
    let vis = &func.vis;
    let generics = &func.sig.generics;
    let where_clause = &generics.where_clause;
    let ret_ty = &sig.ret_ty;
    let grad_name = format_ident!("{}_grad", fname);
    let pullback_name = format_ident!("{}_pullback", fname);
    let vjp_name = format_ident!("{}_vjp", fname);
    let const_name = format_ident!("{}_GRAD_SOURCE", fname.to_string().to_uppercase());

    // Attributes that decide whether or how the function compiles.
    let attrs: Vec<_> = func
        .attrs
        .iter()
        .filter(|a| {
            ["cfg", "allow", "warn", "deny", "expect", "forbid"]
                .iter()
                .any(|k| a.path().is_ident(k))
        })
        .collect();
    let params: Vec<TokenStream> = sig
        .params
        .iter()
        .map(|p| {
            let pat = p
                .ident
                .as_ref()
                .map_or_else(|| quote!(_), |i| i.to_token_stream());
            let (ty, pattrs) = (&p.ty, &p.attrs);
            quote!(#(#pattrs)* #pat: #ty)
        })
        .collect();
    let diff: Vec<usize> = (0..sig.params.len())
        .filter(|&i| !matches!(sig.params[i].kind, ParamKind::Constant))
        .collect();
    let grads_ty = tuple_or_bare(
        diff.iter()
            .map(|&i| grad_type(&sig.params[i]).to_token_stream())
            .collect(),
    );
    let grads_of = |r: &Reverse, _: &TokenStream| {
        tuple_or_bare(
            diff.iter()
                .map(|&i| grad_or_zero(r, f.params[i], &sig.params[i].kind))
                .collect(),
        )
    };

    // f_grad: seed 1.
    let grad_body = body(f, act, names, quote!(1.0), ret_ty, |r, value| {
        let g = grads_of(r, value);
        quote!((#value, #g))
    })
    .tokens;
    let grad_sig = quote! {
        #vis fn #grad_name #generics (#(#params),*) -> (#ret_ty, #grads_ty) #where_clause
    };
    let grad_source = pretty(quote!(#grad_sig { #grad_body }));

    // f_pullback: seed = the caller's cotangent.
    let mut pnames = names.clone();
    let cot = pnames.fresh("cotangent");
    let pull_body = body(f, act, &pnames, cot.to_token_stream(), ret_ty, grads_of).tokens;
    let pull_sig = quote! {
        #vis fn #pullback_name #generics (#(#params,)* #cot: #ret_ty) -> #grads_ty #where_clause
    };
    let pull_source = pretty(quote!(#pull_sig { #pull_body }));

    let vjp = vjp(func, sig, f, &pnames, &cot, &attrs, &params);

    let wrt_list = diff
        .iter()
        .map(|&i| {
            sig.params[i]
                .ident
                .as_ref()
                .map_or_else(|| "`_`".to_string(), |x| format!("`{x}`"))
        })
        .collect::<Vec<_>>()
        .join(", ");
    let grad_doc = format!(
        " Value and gradient of [`{fname}`], generated by `#[grad]`.\n\n Returns `({fname}(args), gradient)`; the gradient holds the derivatives with respect to {wrt_list}, in that order.\n\n The generated adjoint code:\n\n ```text\n{}```",
        indent_doc(&grad_source)
    );
    let pull_doc = format!(
        " Pullback (vector-Jacobian product) of [`{fname}`], generated by `#[grad]`: given the cotangent of the output, returns the cotangents of {wrt_list}.\n\n ```text\n{}```",
        indent_doc(&pull_source)
    );
    let const_doc = format!(" The generated source of [`{grad_name}`], as text.");
    let allow = quote! {
        #[allow(dead_code, unused_variables, unused_mut, unused_parens, unused_braces, unused_assignments, non_snake_case, clippy::all, clippy::pedantic)]
    };
    // A caller may use only `f_grad`; `f` itself must not then be reported
    // as dead code. (Generic functions cannot be named without their
    // parameters, and are not reported as dead until instantiated anyway.)
    let use_original =
        generics.type_params().next().is_none() && generics.const_params().next().is_none();
    let use_original = use_original.then(|| quote!(#(#attrs)* const _: () = { let _ = #fname; };));
    let _ = vjp_name;
    quote! {
        #(#attrs)*
        #[doc = #grad_doc]
        #allow
        #grad_sig { #grad_body }

        #(#attrs)*
        #[doc = #pull_doc]
        #allow
        #pull_sig { #pull_body }

        #vjp

        #(#attrs)*
        #[doc = #const_doc]
        #[allow(non_upper_case_globals, dead_code)]
        #vis const #const_name: &str = #grad_source;

        #use_original
    }
}

/// `f_vjp(args, cotangent) -> (one entry per parameter)`: what a
/// `#[grad]` caller uses. Omitted when some float parameter cannot be
/// differentiated (an operation without a rule lies on its path), so a
/// caller that needs it fails to compile instead of getting a wrong value.
fn vjp(
    func: &ItemFn,
    sig: &Signature,
    f: &Function,
    names: &Names,
    cot: &Ident,
    attrs: &[&syn::Attribute],
    params: &[TokenStream],
) -> Option<TokenStream> {
    let all = sig.all_floats();
    let quiet = Ctxt::new();
    let act = activity::analyze(&quiet, f, &all);
    if quiet.into_compile_errors().is_some() {
        return None;
    }
    let fname = &func.sig.ident;
    let vis = &func.vis;
    let generics = &func.sig.generics;
    let where_clause = &generics.where_clause;
    let ret_ty = &sig.ret_ty;
    let name = format_ident!("{}_vjp", fname);
    let tys: Vec<TokenStream> = all
        .params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Constant => quote!(()),
            _ => grad_type(p).to_token_stream(),
        })
        .collect();
    let b = body(f, &act, names, cot.to_token_stream(), ret_ty, |r, _| {
        let entries: Vec<TokenStream> = all
            .params
            .iter()
            .zip(&f.params)
            .map(|(p, v)| match p.kind {
                ParamKind::Constant => quote!(()),
                _ => grad_or_zero(r, *v, &p.kind),
            })
            .collect();
        quote!((#(#entries,)*))
    })
    .tokens;
    let _ = Kind::Other;
    Some(quote! {
        #(#attrs)*
        #[doc(hidden)]
        #[allow(dead_code, unused_variables, unused_mut, unused_parens, unused_braces, unused_assignments, non_snake_case, clippy::all, clippy::pedantic)]
        #vis fn #name #generics (#(#params,)* #cot: #ret_ty) -> (#(#tys,)*) #where_clause { #b }
    })
}

fn tuple_or_bare(items: Vec<TokenStream>) -> TokenStream {
    if items.len() == 1 {
        items.into_iter().next().expect("one item")
    } else {
        quote!((#(#items),*))
    }
}

fn pretty(item: TokenStream) -> String {
    match syn::parse2::<syn::File>(item.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => item.to_string(),
    }
}

fn indent_doc(src: &str) -> String {
    src.lines().map(|l| format!(" {l}\n")).collect()
}
