//! The forward sweep: the user's computation as SSA `let`s, with the branch
//! and loop structure it was written with, plus what the backward pass
//! needs kept: hoisted declarations, tape pushes before overwrites, and loop
//! iteration counts.

use crate::activity::Activity;
use crate::ir::{
    Block, Form, Function, Instr, IterSpec, Kind, LoopHead, Op, Operand, Stmt, StoreMode, VarId,
};
use crate::plan::Plan;
use crate::reverse::{call_args, operand_tokens};
use crate::window::Sweep;
use proc_macro2::{Delimiter, Group, Ident, TokenStream, TokenTree};
use quote::{quote, ToTokens};
use std::collections::{HashMap, HashSet};

pub struct Forward<'a> {
    pub f: &'a Function,
    pub act: &'a Activity,
    pub plan: &'a Plan,
    pub tapes: &'a HashMap<VarId, Ident>,
    pub elem_tapes: &'a HashMap<VarId, Ident>,
    /// Counters of the loops around the code being generated.
    pub chain: std::cell::RefCell<Vec<VarId>>,
    /// Float tapes borrow their buffers from the runtime's per-thread pool
    /// (`autodiff_runtime::tape`), so a call does not page-fault fresh
    /// megabytes in.
    pub pooled: bool,
    /// Fused loops' reverse code ([`crate::fuse`]).
    pub fused: &'a HashMap<VarId, crate::reverse::FusedCode>,
}

impl Forward<'_> {
    /// Declarations before the forward code: hoisted values and tapes.
    pub fn prelude(&self) -> Vec<TokenStream> {
        let mut out = Vec::new();
        for (i, var) in self.f.vars.iter().enumerate() {
            let v = VarId(i);
            if self.plan.sites[i] == 0 {
                continue;
            }
            if self.plan.hoisted(self.f, self.act, v) {
                let x = &var.ident;
                let ty = var.ty.as_ref().map(|t| quote!(: #t));
                out.push(quote!(let mut #x #ty = ::core::default::Default::default();));
            }
        }
        let floats = |v: &VarId| self.f.vars[v.0].kind == crate::ir::Kind::Scalar;
        let mut tapes: Vec<_> = self
            .tapes
            .iter()
            .map(|(v, t)| (v, t, floats(v)))
            .chain(self.elem_tapes.iter().map(|(v, t)| (v, t, true)))
            .collect();
        tapes.sort_by_key(|(v, _, _)| **v);
        // Split calls' scratch buffers ([`crate::into`]), reused by every
        // execution of the call.
        for (s, _, _) in self.f.stmts() {
            let crate::ir::Stmt::Assign(ins) = s else {
                continue;
            };
            if !self.plan.split.contains(&ins.dest) {
                continue;
            }
            let Some(vecs) = crate::into::vector_args(self.f, self.act, ins) else {
                continue;
            };
            for (i, _) in vecs.iter().enumerate().filter(|(_, v)| **v) {
                let (buf, _) = crate::into::scratch(self.f, ins.dest, i);
                out.push(quote!(let mut #buf = ::std::vec::Vec::new();));
            }
        }
        for (_, t, float) in tapes {
            if float && self.pooled {
                out.push(quote!(let mut #t = ::autodiff::__rt::Tape::new();));
            } else {
                out.push(quote!(let mut #t = ::std::vec::Vec::new();));
            }
        }
        out
    }

    pub fn block(&self, b: &Block) -> Vec<TokenStream> {
        b.stmts.iter().flat_map(|s| self.stmt(s)).collect()
    }

    fn ident(&self, v: VarId) -> &Ident {
        &self.f.vars[v.0].ident
    }

    /// Pushes `v`'s value before it is overwritten (a tensor is moved: the
    /// assignment that follows replaces it).
    fn push_old(&self, v: VarId) -> TokenStream {
        let x = self.ident(v);
        let tape = &self.tapes[&v];
        quote!(#tape.push(#x);)
    }

    /// Pushes `v`'s value once around a loop that goes on reading it (a
    /// tensor is copied).
    fn push_kept(&self, v: VarId) -> TokenStream {
        if self.f.vars[v.0].kind != crate::ir::Kind::Tensor {
            return self.push_old(v);
        }
        let x = self.ident(v);
        let tape = &self.tapes[&v];
        quote!(#tape.push(::core::clone::Clone::clone(&#x));)
    }

    fn stmt(&self, s: &Stmt) -> Vec<TokenStream> {
        match s {
            Stmt::Item(t) => vec![t.clone()],
            Stmt::Assign(ins) => self.assign(ins),
            Stmt::Store(st) => {
                let y = self.ident(st.vec);
                let ix = operand_tokens(self.f, &st.index);
                let v = operand_tokens(self.f, &st.value);
                let mut out = Vec::new();
                let own = self.plan.saves_element(self.chain.borrow().last(), st.vec);
                if let Some(tape) = self.elem_tapes.get(&st.vec).filter(|_| own) {
                    out.push(quote!(#tape.push(#y[#ix]);));
                }
                out.push(match st.mode {
                    StoreMode::Set => quote!(#y[#ix] = #v;),
                    StoreMode::Add => quote!(#y[#ix] += #v;),
                    StoreMode::Sub => quote!(#y[#ix] -= #v;),
                });
                out
            }
            Stmt::If(i) => {
                let c = operand_tokens(self.f, &i.cond);
                let t = self.block(&i.then_block);
                let e = self.block(&i.else_block);
                if e.is_empty() {
                    vec![quote!(if #c { #(#t)* })]
                } else {
                    vec![quote!(if #c { #(#t)* } else { #(#e)* })]
                }
            }
            Stmt::BreakIf(flag) => {
                let x = self.ident(*flag);
                vec![quote!(if #x { break; })]
            }
            Stmt::Loop(l) => {
                let mut out = Vec::new();
                let fused = self.fused.get(&l.counter);
                if let Some(code) = fused {
                    out.extend(code.early.iter().cloned());
                    out.extend(code.decls.iter().cloned());
                }
                // Saved once here instead of at each assignment inside.
                for v in self.plan.around.get(&l.counter).into_iter().flatten() {
                    out.push(self.push_kept(*v));
                }
                let n = self.ident(l.counter);
                let counted = self.plan.needed.contains(&l.counter);
                let mut body = Vec::new();
                if counted {
                    if self.plan.taped(l.counter)
                        && self
                            .plan
                            .around_loop(l.counter, &self.chain.borrow())
                            .is_none()
                    {
                        out.push(self.push_old(l.counter));
                    }
                    if self.plan.hoisted(self.f, self.act, l.counter) {
                        out.push(quote!(#n = 0usize;));
                    } else {
                        out.push(quote!(let mut #n = 0usize;));
                    }
                    body.push(quote!(#n += 1;));
                }
                if let LoopHead::For { var: Some(i), .. } = &l.head {
                    if let Some(tape) = self.tapes.get(i) {
                        let x = self.ident(*i);
                        body.push(quote!(#tape.push(#x);));
                    }
                }
                self.chain.borrow_mut().push(l.counter);
                body.extend(self.block(&l.body));
                self.chain.borrow_mut().pop();
                if let Some(code) = fused {
                    // The iteration's reverse pops (or undoes) what outlives
                    // the iteration back to its value before it: kept across.
                    let kept: Vec<(&Ident, Ident)> =
                        crate::fuse::carried(self.f, &self.plan.decl_block, l)
                            .into_iter()
                            .filter(|v| {
                                self.tapes.contains_key(v)
                                    || self.plan.invertible.keys().any(|(u, _)| u == v)
                            })
                            .map(|v| {
                                let x = self.ident(v);
                                let span = proc_macro2::Span::mixed_site();
                                (x, Ident::new(&format!("kept_{x}"), span))
                            })
                            .collect();
                    let saves = kept
                        .iter()
                        .map(|(x, k)| quote!(let #k = ::core::clone::Clone::clone(&#x);));
                    let restores = kept.iter().map(|(x, k)| quote!(#x = #k;));
                    let reverse = &code.body;
                    let at = match l.body.stmts.last() {
                        Some(Stmt::BreakIf(_)) => body.len() - 1,
                        _ => body.len(),
                    };
                    body.insert(at, quote!({ #(#saves)* #reverse #(#restores)* }));
                }
                // Size the tapes this loop pushes to once per iteration (a
                // fused loop pops them in the same iteration).
                if let (
                    None,
                    LoopHead::For {
                        iter: iter @ IterSpec::Range { .. },
                        ..
                    },
                ) = (fused, &l.head)
                {
                    let all = quote!(#(#body)*);
                    let mut pushed = Vec::new();
                    direct_pushes(&all, &mut pushed);
                    if !pushed.is_empty() {
                        let it = iter_tokens(self.f, iter);
                        let hint = Ident::new("iterations", proc_macro2::Span::mixed_site());
                        // A tape that the body only pushes to directly gets
                        // a slot per push site per iteration, and pushes
                        // that cannot reallocate.
                        let mut sized = HashSet::new();
                        let reserves: Vec<TokenStream> = pushed
                            .iter()
                            .map(|t| {
                                let (direct, mentions) = push_sites(&all, t);
                                if direct == mentions {
                                    sized.insert(t.to_string());
                                }
                                if direct == mentions && direct > 1 {
                                    quote!(#t.reserve(#hint.saturating_mul(#direct));)
                                } else {
                                    quote!(#t.reserve(#hint);)
                                }
                            })
                            .collect();
                        body = body.iter().map(|t| reserved_pushes(t, &sized)).collect();
                        out.push(quote!({
                            let #hint = ::core::iter::Iterator::size_hint(&(#it)).0;
                            #(#reserves)*
                        }));
                    }
                }
                // The slices the loop overwrites whole, saved in one copy.
                if let LoopHead::For { iter, .. } = &l.head {
                    for (y, tape) in bulk_tapes(self.plan, self.elem_tapes, l.counter) {
                        let y = self.ident(y);
                        let range = slice_range(self.f, iter);
                        out.push(quote! {
                            if ::core::iter::Iterator::size_hint(&(#range)).0 > 0 {
                                #tape.extend_from_slice(&#y[#range]);
                            }
                        });
                    }
                }
                out.push(match &l.head {
                    LoopHead::For { var, iter } => {
                        let pat = match var {
                            Some(v) => {
                                let x = self.ident(*v);
                                quote!(#x)
                            }
                            None => quote!(_),
                        };
                        let it = iter_tokens(self.f, iter);
                        fused
                            .is_none()
                            .then(|| crate::window::walk(self.f, self.plan, l, Sweep::Forward))
                            .flatten()
                            .and_then(|walk| {
                                let n = quote!(::core::iter::Iterator::size_hint(&(#it)).0);
                                let vectors = crate::window::vectors(self.f, None);
                                crate::window::rewrite(
                                    &walk,
                                    Sweep::Forward,
                                    &body,
                                    &vectors,
                                    &n,
                                    Some(&it),
                                )
                            })
                            .unwrap_or_else(|| quote!(for #pat in #it { #(#body)* }))
                    }
                    LoopHead::Infinite => quote!(loop { #(#body)* }),
                });
                out
            }
        }
    }

    fn assign(&self, ins: &Instr) -> Vec<TokenStream> {
        let f = self.f;
        let d = ins.dest;
        let var = &f.vars[d.0];
        let ident = &var.ident;
        let mut rhs = rhs_tokens(f, ins);
        let mut out = Vec::new();
        if let (true, Form::Call(path)) = (self.plan.split.contains(&d), &ins.form) {
            let (value, kept) = crate::split::locals(f, d);
            let a = call_args(f, self.act, &ins.args, false);
            if let Some(vecs) = crate::into::vector_args(f, self.act, ins) {
                // The gradient at cotangent 1 into this call's scratch buffers.
                let mut dsts = Vec::new();
                for (i, arg) in ins.args.iter().enumerate() {
                    if vecs[i] {
                        let (buf, dst) = crate::into::scratch(f, d, i);
                        let arg = operand_tokens(f, arg);
                        out.push(
                            quote!(let #dst = ::autodiff::__rt::zeroed_for(&mut #buf, &#arg);),
                        );
                        dsts.push(dst.to_token_stream());
                    } else {
                        dsts.push(quote!(()));
                    }
                }
                let call = crate::reverse::callee_path(path, "_vjp_into");
                out.push(quote!(let (#value, #kept) = #call(#(#a,)* 1.0, (#(#dsts,)*));));
            } else {
                let call = crate::reverse::callee_path(path, "_grad_vjp");
                out.push(quote!(let (#value, #kept) = #call(#(#a),*);));
            }
            rhs = value.to_token_stream();
        } else if let (Op::Call, Form::Call(path)) = (ins.op, &ins.form) {
            // Made again in the reverse if active.
            let a = call_args(f, self.act, &ins.args, self.act.active(d));
            rhs = quote!(#path(#(#a),*));
        } else if let Form::OutCall { path, out } = &ins.form {
            let a = call_args(f, self.act, &ins.args, self.act.active(d));
            rhs = out_call(path, *out, a);
        }
        let hoisted = self.plan.hoisted(f, self.act, d);
        let in_place = ins.decl && !hoisted && !var.internal;
        let undone = matches!((&ins.form, &ins.args[..]), (Form::Copy, [Operand::Var(w)]) if self.plan.invertible.contains_key(&(d, *w)));
        if self.plan.taped(d)
            && !in_place
            && !undone
            && !self.plan.fresh_let(ins.decl, &self.chain.borrow())
            && self.plan.around_loop(d, &self.chain.borrow()).is_none()
        {
            out.push(self.push_old(d));
        }
        if in_place {
            let ty = var.ty.as_ref().map(|t| quote!(: #t));
            let m = (self.plan.sites[d.0] > 1 || self.plan.stored[d.0]).then(|| quote!(mut));
            out.push(quote!(let #m #ident #ty = #rhs;));
        } else {
            out.push(quote!(#ident = #rhs;));
        }
        out
    }
}

/// The right-hand side of an instruction, in the user's own form.
pub fn rhs_tokens(f: &Function, ins: &Instr) -> TokenStream {
    let a: Vec<TokenStream> = ins.args.iter().map(|a| operand_tokens(f, a)).collect();
    {
        match &ins.form {
            Form::Infix(op) => {
                let (l, r) = (&a[0], &a[1]);
                quote!(#l #op #r)
            }
            Form::Prefix(op) => {
                let x = &a[0];
                quote!(#op #x)
            }
            Form::Method { name, turbofish } => {
                let recv = &a[0];
                let rest = &a[1..];
                quote!(#recv.#name #turbofish (#(#rest),*))
            }
            Form::Call(path) => quote!(#path(#(#a),*)),
            Form::OutCall { path, out } => out_call(path, *out, a),
            Form::Cast(t) => {
                let x = &a[0];
                quote!(#x as #t)
            }
            // A tensor copy keeps the source alive for the backward pass
            // (`&Tensor` stays a reference: `Clone` of a reference copies it).
            // So does a copy of a vector that owns its storage (`let v = w;`,
            // `v = w;`): the user never reads `w` again, but its adjoint is
            // shaped like it, a loop's tape saves it before the next
            // iteration's `let`, and the reverse of the code that wrote it
            // reads it. Not a call's copy of the vector it writes, which
            // nothing reads after it is moved back (its adjoint takes its
            // shape from the vector: `Var::shape`).
            Form::Copy
                if ins.args[0].var().is_some_and(|v| {
                    let v = &f.vars[v.0];
                    v.kind == Kind::Tensor
                        || (v.kind == Kind::Vector && v.owned && v.shape.is_none())
                }) =>
            {
                let x = &a[0];
                quote!(::core::clone::Clone::clone(&#x))
            }
            Form::Copy => a[0].clone(),
            Form::Tensor => match ins.op {
                Op::Tensor(op) => {
                    crate::tensor_rules::forward(op, &crate::reverse::tensor_arg_tokens(f, ins))
                }
                _ => unreachable!("Form::Tensor is only built with Op::Tensor"),
            },
            Form::Index => {
                let (x, i) = (&a[0], &a[1]);
                quote!(#x[#i])
            }
            Form::Range { inclusive } => {
                let (s, e) = (&a[0], &a[1]);
                if *inclusive {
                    quote!(#s..=#e)
                } else {
                    quote!(#s..#e)
                }
            }
            Form::VecFill { array: false } => {
                let (v, n) = (&a[0], &a[1]);
                quote!(::std::vec![#v; #n])
            }
            Form::VecFill { array: true } => {
                let (v, n) = (&a[0], &a[1]);
                quote!([#v; #n])
            }
            Form::IterSum { turbofish } => {
                let x = &a[0];
                quote!(#x.iter().sum #turbofish ())
            }
            Form::List { vec: false } => quote!([#(#a),*]),
            Form::List { vec: true } => quote!(::std::vec![#(#a),*]),
            Form::ViewIndex => quote!(::autodiff::__rt::view_index(#(#a),*)),
        }
    }
}

/// `path(a, ..., &mut v, ...)` run on a copy of `v`, the copy its value:
/// the old `v` stays untouched for the tape to save. `a` holds the
/// arguments as rendered, `&v` at `out`.
fn out_call(path: &TokenStream, out: usize, mut a: Vec<TokenStream>) -> TokenStream {
    let copy = proc_macro2::Ident::new("autodiff_written", proc_macro2::Span::mixed_site());
    let v = a[out].clone();
    a[out] = quote!(&mut #copy);
    quote!({
        let mut #copy = ::core::clone::Clone::clone(#v);
        #path(#(#a),*);
        #copy
    })
}

/// The tapes a loop body pushes to on every iteration it runs, not counting
/// the bodies of loops nested in it: `tape.push(..)` outside `for`/`loop`
/// bodies.
fn direct_pushes(tokens: &TokenStream, out: &mut Vec<Ident>) {
    visit_direct_pushes(tokens, &mut |i| {
        if !out.contains(i) {
            out.push(i.clone());
        }
    });
}

/// Calls `seen` with the tape of each `tape.push(..)` outside nested
/// `for`/`loop` bodies.
fn visit_direct_pushes(tokens: &TokenStream, seen: &mut impl FnMut(&Ident)) {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut k = 0;
    while k < tts.len() {
        match &tts[k] {
            // Skip to the loop's body and over it.
            TokenTree::Ident(i) if i == "for" || i == "loop" => k = loop_body_at(&tts, k),
            TokenTree::Ident(i) if is_push(&tts, k) => seen(i),
            TokenTree::Group(g) => visit_direct_pushes(&g.stream(), seen),
            _ => {}
        }
        k += 1;
    }
}

/// How often `tokens` push to `tape` directly (outside nested loops), and
/// how often they name it at all.
fn push_sites(tokens: &TokenStream, tape: &Ident) -> (usize, usize) {
    fn mentions(tokens: &TokenStream, tape: &Ident) -> usize {
        tokens
            .clone()
            .into_iter()
            .map(|tt| match tt {
                TokenTree::Ident(i) => usize::from(i == *tape),
                TokenTree::Group(g) => mentions(&g.stream(), tape),
                _ => 0,
            })
            .sum()
    }
    let mut direct = 0;
    visit_direct_pushes(tokens, &mut |i| direct += usize::from(i == tape));
    (direct, mentions(tokens, tape))
}

/// `tape.push(x)` → `push_reserved(&mut tape, x)` for the tapes in `sized`,
/// outside nested loops.
fn reserved_pushes(tokens: &TokenStream, sized: &HashSet<String>) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < tts.len() {
        match &tts[k] {
            TokenTree::Ident(i) if i == "for" || i == "loop" => {
                // A nested loop, its body included, as it is.
                let end = loop_body_at(&tts, k);
                out.extend(tts[k..tts.len().min(end + 1)].iter().cloned());
                k = end;
            }
            TokenTree::Ident(i) if sized.contains(&i.to_string()) && is_push(&tts, k) => {
                let TokenTree::Group(args) = &tts[k + 3] else {
                    unreachable!("is_push checked the argument list")
                };
                let v = args.stream();
                out.extend(quote!(::autodiff::__rt::push_reserved(&mut #i, #v)));
                k += 3;
            }
            TokenTree::Group(g) => {
                let mut ng = Group::new(g.delimiter(), reserved_pushes(&g.stream(), sized));
                ng.set_span(g.span());
                out.push(TokenTree::Group(ng));
            }
            other => out.push(other.clone()),
        }
        k += 1;
    }
    out.into_iter().collect()
}

/// The position of the body (`{ .. }`) of the loop whose keyword is at `k`.
fn loop_body_at(tts: &[TokenTree], k: usize) -> usize {
    (k..tts.len())
        .find(|&j| matches!(&tts[j], TokenTree::Group(g) if g.delimiter() == Delimiter::Brace))
        .unwrap_or(tts.len())
}

/// Whether `tts[k..]` is `tape.push(...)`.
fn is_push(tts: &[TokenTree], k: usize) -> bool {
    matches!(tts.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.')
        && matches!(tts.get(k + 2), Some(TokenTree::Ident(m)) if m == "push")
        && matches!(tts.get(k + 3), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
}

/// The element range `start..end` (or `..=`) a range loop over `iter`
/// visits, whatever the order: the slice a bulk-saved vector's loop
/// overwrites, and the range the forward loop steps through.
pub fn slice_range(f: &Function, iter: &IterSpec) -> TokenStream {
    let IterSpec::Range {
        start,
        end,
        inclusive,
        ..
    } = iter
    else {
        unreachable!("only range loops have an element range")
    };
    crate::reverse::range_tokens(f, Some(start), Some(end), *inclusive)
}

/// The vectors `loop_counter`'s loop overwrites whole that have an element
/// tape, with the tape ([`Plan::bulk`]).
pub fn bulk_tapes<'t>(
    plan: &Plan,
    elem_tapes: &'t HashMap<VarId, Ident>,
    loop_counter: VarId,
) -> Vec<(VarId, &'t Ident)> {
    plan.bulk
        .get(&loop_counter)
        .into_iter()
        .flatten()
        .filter_map(|y| elem_tapes.get(y).map(|t| (*y, t)))
        .collect()
}

/// The iterator of a `for` loop, as the forward code writes it.
pub fn iter_tokens(f: &Function, iter: &IterSpec) -> TokenStream {
    match iter {
        IterSpec::Tokens(t) => t.clone(),
        IterSpec::Range { rev, step, .. } => {
            let range = slice_range(f, iter);
            match (rev, step) {
                (false, None) => range,
                (true, _) => quote!((#range).rev()),
                (false, Some(k)) => {
                    let k = operand_tokens(f, k);
                    quote!((#range).step_by(#k))
                }
            }
        }
    }
}
