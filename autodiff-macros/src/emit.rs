//! Emission: `f_grad`, `f_pullback` and the hidden `f_vjp`.
//!
//! Each is the forward sweep followed by the reverse sweep, seeded with `1`
//! (`f_grad`) or the caller's cotangent. `f_vjp` differentiates with respect
//! to every float parameter whatever `wrt(...)` says, and returns one entry
//! per parameter (`()` for constants), so a `#[grad]` function calling `f`
//! can take the cotangents by position. The code of `f_grad` is also
//! formatted into its rustdoc and a `*_GRAD_SOURCE` constant.

use crate::activity::Activity;
use crate::forward::Forward;
use crate::ir::{Function, LoopHead, Stmt, VarId};
use crate::names::Names;
use crate::plan::{AdjCat, Plan};
use crate::reverse::{idents_in, operand_tokens, Reverse, Tapes};
use crate::signature::{grad_type, ParamKind, Signature};
use proc_macro2::{Group, Ident, TokenStream, TokenTree};
use quote::{format_ident, quote, ToTokens};
use std::collections::{HashMap, HashSet};
use syn::ItemFn;

/// One sweep pair's code, with the output's cotangent left as a
/// placeholder (`f_grad` seeds `1.0`, the pullbacks their argument), and
/// what it returns.
struct Parts {
    code: TokenStream,
    value: TokenStream,
    /// Per parameter: its gradient after the sweep (or zero), `None` for a
    /// parameter this activity does not differentiate.
    grads: Vec<Option<TokenStream>>,
}

/// Forward and reverse sweeps for one activity.
fn body(
    f: &Function,
    act: &Activity,
    sig: &Signature,
    names: &Names,
    seed: &Ident,
    pooled: bool,
    bound: &HashMap<VarId, Ident>,
) -> Parts {
    let ret_ty = &sig.ret_ty;
    let seed = seed.to_token_stream();
    let mut plan = Plan::new(f, act);
    // What does the backward pass read? Its pops depend on the answer (a
    // value is taped only if read) and add reads of their own (the branch
    // flag or loop count around a pop), so run it until nothing new is read.
    let mut first = true;
    loop {
        let mut scratch = names.clone();
        let scratch_tapes = tapes_of(f, &plan, &mut scratch);
        let mut r = Reverse::new(
            f,
            act,
            &plan,
            &mut scratch,
            &scratch_tapes,
            seed.clone(),
            ret_ty,
        );
        r.restores = !first;
        r.bound = bound.clone();
        let lines = r.sweep();
        let mut read = HashSet::new();
        for l in &lines[r.upfront_len..] {
            idents_in(l, &mut read);
        }
        for code in r.fused_code.values() {
            idents_in(&code.body, &mut read);
        }
        let loop_reads = std::mem::take(&mut r.loop_reads);
        let top_reads = std::mem::take(&mut r.top_reads);
        let before = plan.needed.clone();
        let mut now: HashSet<VarId> = (0..f.vars.len())
            .map(VarId)
            .filter(|v| read.contains(&f.vars[v.0].ident.to_string()))
            .collect();
        now.extend(before.iter().copied());
        plan.set_needed(now);
        plan.settle_loops(f, act, loop_reads, &top_reads);
        if !first && plan.needed == before {
            break;
        }
        first = false;
    }
    let mut names = names.clone();
    let tapes = tapes_of(f, &plan, &mut names);
    // The backward section first: the forward pass runs fused loops'
    // reverse code.
    let mut r = Reverse::new(f, act, &plan, &mut names, &tapes, seed, ret_ty);
    r.restores = true;
    r.bound = bound.clone();
    let backward = r.sweep();
    let fwd = Forward {
        f,
        act,
        plan: &plan,
        tapes: &tapes.0,
        elem_tapes: &tapes.1,
        chain: Default::default(),
        pooled,
        fused: &r.fused_code,
    };
    let prelude = fwd.prelude();
    let forward = fwd.block(&f.body);
    // The backward pass pops overwritten values back; keep the output first.
    let mut value = operand_tokens(f, &f.ret);
    let mut keep = None;
    if let Some(v) = f.ret.var().filter(|v| plan.taped(*v)) {
        let kept = r.names.fresh("value");
        let x = &f.vars[v.0].ident;
        keep = Some(quote!(let #kept = #x;));
        value = kept.to_token_stream();
    }
    let grads = sig
        .params
        .iter()
        .zip(&f.params)
        .map(|(p, v)| match p.kind {
            ParamKind::Constant => None,
            _ => Some(grad_or_zero(&r, *v)),
        })
        .collect();
    Parts {
        code: quote! {
            #(#prelude)*
            #(#forward)*
            #keep
            #(#backward)*
        },
        value,
        grads,
    }
}

/// Tapes (whole values, and the elements of element-written vectors) of
/// everything the plan pushes.
fn tapes_of(f: &Function, plan: &Plan, names: &mut Names) -> Tapes {
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
    let mut tapes = HashMap::new();
    let mut elems = HashMap::new();
    for v in 0..f.vars.len() {
        let v = VarId(v);
        let loop_var = loop_vars.contains(&v) && plan.needed.contains(&v);
        if plan.pushed.contains(&v) || loop_var {
            tapes.insert(v, names.fresh(&format!("tape_{}", f.vars[v.0].ident)));
        }
        if plan.elem_pushed.contains(&v) {
            elems.insert(v, names.fresh(&format!("tape_{}_elem", f.vars[v.0].ident)));
        }
    }
    (tapes, elems)
}

/// The gradient of parameter `v` after the sweep, or its zero.
fn grad_or_zero(r: &Reverse, v: Option<VarId>) -> TokenStream {
    let Some(v) = v else {
        return quote!(0.0);
    };
    let live = r.act.active(v) && (r.plan.cat[v.0] == AdjCat::Upfront || r.declared.contains(&v));
    match r.grads.get(&v) {
        Some(g) if live => g.to_token_stream(),
        _ => r.zero(v),
    }
}

/// `code` with the seed placeholder replaced by `seed`.
fn seeded(code: &TokenStream, placeholder: &Ident, seed: &TokenStream) -> TokenStream {
    substitute(code, &[(placeholder.clone(), seed.clone())])
}

/// `code` with each placeholder replaced by its tokens.
fn substitute(code: &TokenStream, with: &[(Ident, TokenStream)]) -> TokenStream {
    code.clone()
        .into_iter()
        .flat_map(|tt| -> Vec<TokenTree> {
            match tt {
                TokenTree::Ident(i) => match with.iter().find(|(p, _)| *p == i) {
                    Some((_, t)) => t.clone().into_iter().collect(),
                    None => vec![TokenTree::Ident(i)],
                },
                TokenTree::Group(g) => {
                    let mut ng = Group::new(g.delimiter(), substitute(&g.stream(), with));
                    ng.set_span(g.span());
                    vec![TokenTree::Group(ng)]
                }
                other => vec![other],
            }
        })
        .collect()
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
    let const_name = format_ident!("{}_GRAD_SOURCE", fname.to_string().to_uppercase());

    let attrs = compile_attrs(func);
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
    let diff = differentiated(sig);
    let grads_ty = grads_type(sig);

    let mut gnames = names.clone();
    let cot = gnames.fresh("cotangent");
    let placeholder = gnames.fresh("seed_placeholder");
    // A pooled tape needs a `'static` element type: known for floats only
    // where no type parameter could stand in a value's type.
    let pooled = generics.type_params().next().is_none();
    // f_vjp_into's destinations, one per parameter; a borrowed vector's
    // adjoint starts as its destination there (and as zeros elsewhere).
    let dsts: Vec<Ident> = sig
        .params
        .iter()
        .map(|_| gnames.fresh("adjoint_dst"))
        .collect();
    let dsts_arg = gnames.fresh("adjoint_dsts");
    let mut bound = HashMap::new();
    let mut zero_starts = Vec::new();
    let mut into_starts = Vec::new();
    // A caller passes `()` for a constant vector argument: the adjoint is
    // then a scratch buffer of the callee's (`VectorDst` in the runtime).
    let mut into_scratch = Vec::new();
    for (i, (p, v)) in sig.params.iter().zip(&f.params).enumerate() {
        let Some(v) = v else { continue };
        if matches!(p.kind, ParamKind::Vector) && crate::signature::borrowed(&p.ty) {
            let start = gnames.fresh("adjoint_start");
            let scratch = gnames.fresh("adjoint_scratch");
            let (dst, x) = (&dsts[i], &f.vars[v.0].ident);
            zero_starts.push((start.clone(), crate::reverse::zero_tokens(f, *v)));
            into_starts.push((
                start.clone(),
                quote!(::autodiff::__rt::VectorDst::slot(#dst, &mut #scratch, &#x)),
            ));
            // Typed: a parameter whose adjoint nothing reads leaves it unused.
            let elem = crate::signature::vector_elem(p);
            into_scratch
                .push(quote!(let mut #scratch: ::std::vec::Vec<#elem> = ::std::vec::Vec::new();));
            bound.insert(*v, start);
        }
    }
    let parts = body(f, act, sig, &gnames, &placeholder, pooled, &bound);
    let code = substitute(&parts.code, &zero_starts);
    let pick = |parts: &Parts| {
        tuple_or_bare(
            diff.iter()
                .map(|&i| parts.grads[i].clone().unwrap_or_else(|| quote!(0.0)))
                .collect(),
        )
    };

    // f_grad: seed 1.
    let value = &parts.value;
    let grads = pick(&parts);
    let grad_code = seeded(&code, &placeholder, &quote!(1.0));
    let grad_body = quote! {
        #grad_code
        (#value, #grads)
    };
    let grad_sig = quote! {
        #vis fn #grad_name #generics (#(#params),*) -> (#ret_ty, #grads_ty) #where_clause
    };
    let grad_source = pretty(quote!(#grad_sig { #grad_body }));

    // f_pullback: seed = the caller's cotangent.
    let pull_code = seeded(&code, &placeholder, &cot.to_token_stream());
    let pull_body = quote! {
        #pull_code
        #grads
    };
    let pull_sig = quote! {
        #vis fn #pullback_name #generics (#(#params,)* #cot: #ret_ty) -> #grads_ty #where_clause
    };

    // f_vjp: what a `#[grad]` caller uses, taking the cotangents by
    // position: one entry per parameter, `()` for constants and for
    // parameters `wrt(...)` leaves out (a caller passing an active value
    // there fails to compile). The same code as the pullback.
    let vjp_name = format_ident!("{}_vjp", fname);
    // f_grad_vjp: the value and the `f_vjp` entries at cotangent 1, for a
    // caller that scales them itself ([`crate::split`]).
    let grad_vjp_name = format_ident!("{}_grad_vjp", fname);
    let vjp_tys: Vec<TokenStream> = sig
        .params
        .iter()
        .map(|p| match p.kind {
            ParamKind::Constant => quote!(()),
            _ => grad_type(p).to_token_stream(),
        })
        .collect();
    let vjp_entries: Vec<TokenStream> = parts
        .grads
        .iter()
        .map(|g| g.clone().unwrap_or_else(|| quote!(())))
        .collect();

    // f_vjp_into: the pullback adding a vector's gradient straight into the
    // caller's adjoint (no gradient vector per call), and returning the
    // value with the scalar and tensor entries.
    let into_name = format_ident!("{}_vjp_into", fname);
    let (dst_tys, into_tys): (Vec<TokenStream>, Vec<TokenStream>) =
        sig.params.iter().map(crate::signature::into_types).unzip();
    let mut into_starts = into_starts;
    into_starts.push((placeholder.clone(), cot.to_token_stream()));
    let into_code = substitute(&parts.code, &into_starts);
    let mut into_tail = Vec::new();
    let into_entries: Vec<TokenStream> = sig
        .params
        .iter()
        .zip(&f.params)
        .zip(&parts.grads)
        .zip(&dsts)
        .map(|(((p, v), g), dst)| match (&p.kind, g) {
            (ParamKind::Vector, Some(g)) => {
                if !v.is_some_and(|v| bound.contains_key(&v)) {
                    into_tail.push(quote!(::autodiff::__rt::VectorDst::add(#dst, &#g);));
                }
                quote!(())
            }
            (ParamKind::Constant, _) | (_, None) => quote!(()),
            (_, Some(g)) => g.clone(),
        })
        .collect();

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
        " Pullback (vector-Jacobian product) of [`{fname}`], generated by `#[grad]`: given the cotangent of the output, returns the cotangents of {wrt_list}.\n\n The code is that of [`{grad_name}`] with the output's adjoint seeded by the cotangent instead of `1`."
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
    quote! {
        #(#attrs)*
        #[doc = #grad_doc]
        #allow
        #grad_sig { #grad_body }

        #(#attrs)*
        #[doc = #pull_doc]
        #allow
        #pull_sig { #pull_body }

        #(#attrs)*
        #[doc(hidden)]
        #allow
        #vis fn #vjp_name #generics (#(#params,)* #cot: #ret_ty) -> (#(#vjp_tys,)*) #where_clause {
            #pull_code
            (#(#vjp_entries,)*)
        }

        #(#attrs)*
        #[doc(hidden)]
        #allow
        #vis fn #grad_vjp_name #generics (#(#params),*) -> (#ret_ty, (#(#vjp_tys,)*)) #where_clause {
            #grad_code
            (#value, (#(#vjp_entries,)*))
        }

        #(#attrs)*
        #[doc(hidden)]
        #allow
        #vis fn #into_name #generics (#(#params,)* #cot: #ret_ty, #dsts_arg: (#(#dst_tys,)*)) -> (#ret_ty, (#(#into_tys,)*)) #where_clause {
            let (#(#dsts,)*) = #dsts_arg;
            #(#into_scratch)*
            #into_code
            #(#into_tail)*
            (#value, (#(#into_entries,)*))
        }

        #(#attrs)*
        #[doc = #const_doc]
        #[allow(non_upper_case_globals, dead_code)]
        #vis const #const_name: &str = #grad_source;

        #use_original
    }
}

/// The attributes of `func` that decide whether or how it compiles (`cfg`,
/// lint levels), which every generated function carries too.
pub fn compile_attrs(func: &ItemFn) -> Vec<&syn::Attribute> {
    func.attrs
        .iter()
        .filter(|a| {
            ["cfg", "allow", "warn", "deny", "expect", "forbid"]
                .iter()
                .any(|k| a.path().is_ident(k))
        })
        .collect()
}

/// The positions of the parameters with an entry in the gradient.
fn differentiated(sig: &Signature) -> Vec<usize> {
    (0..sig.params.len())
        .filter(|&i| !matches!(sig.params[i].kind, ParamKind::Constant))
        .collect()
}

/// The type of `f_grad`'s gradient (and `f_pullback`'s result): one entry
/// per differentiated parameter, bare for one.
pub fn grads_type(sig: &Signature) -> TokenStream {
    tuple_or_bare(
        differentiated(sig)
            .iter()
            .map(|&i| grad_type(&sig.params[i]).to_token_stream())
            .collect(),
    )
}

fn tuple_or_bare(items: Vec<TokenStream>) -> TokenStream {
    if items.len() == 1 {
        items.into_iter().next().expect("one item")
    } else {
        quote!((#(#items),*))
    }
}

/// Above this size the source is kept as plain token text: formatting a
/// function of thousands of statements costs more than its expansion, and
/// nobody reads it in rustdoc.
const PRETTY_LIMIT: usize = 40_000;

fn pretty(item: TokenStream) -> String {
    let text = item.to_string();
    if text.len() > PRETTY_LIMIT {
        return text;
    }
    match syn::parse2::<syn::File>(item) {
        Ok(file) => prettyplease::unparse(&file),
        Err(_) => text,
    }
}

fn indent_doc(src: &str) -> String {
    src.lines().map(|l| format!(" {l}\n")).collect()
}
