//! The reverse sweep: adjoint code in reverse order of the forward code.
//!
//! Straight-line code gives the lectures' flat backprop: for each active
//! instruction, last to first, each active argument gets `local gradient ×
//! upstream adjoint`, the first contribution a `let`, later ones `+=`.
//! Regions reverse structurally: a branch replays the branch taken (its
//! condition value is kept), a loop runs its body's reverse once per
//! iteration it made, last first. Values the forward pass overwrote are
//! popped back from their tapes at the point they were overwritten, so every
//! rule reads the values its instruction saw.

use crate::activity::Activity;
use crate::forward::rhs_tokens;
use crate::ir::{
    Block, Form, Function, IterSpec, Kind, LoopHead, Op, Operand, Stmt, StoreMode, VarId,
};
use crate::lower::atomic_tokens;
use crate::names::Names;
use crate::plan::{AdjCat, Plan};
use crate::rules::{self, Arg};
use crate::tensor_rules;
use crate::window::Sweep;
use proc_macro2::{Ident, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use std::collections::{HashMap, HashSet};

pub fn operand_tokens(f: &Function, op: &Operand) -> TokenStream {
    match op {
        Operand::Var(v) => f.vars[v.0].ident.to_token_stream(),
        Operand::Ref(v) => {
            let i = &f.vars[v.0].ident;
            quote!(&#i)
        }
        Operand::Slice(v, b) => {
            let i = &f.vars[v.0].ident;
            let range = range_tokens(f, b.start.as_ref(), b.end.as_ref(), b.inclusive);
            quote!(&#i[#range])
        }
        Operand::Const(c) => atomic_tokens(c),
    }
}

/// A differentiated call's arguments. One that may own its storage
/// ([`crate::owned`]) is passed as a clone where the gradient code uses it
/// after the call has moved it: when the reverse calls the callee again
/// (`again`), or as the shape of its adjoint (an active vector). Elsewhere
/// it is moved as the user wrote it, so a value that is not `Clone` still
/// goes through a call made once.
pub fn call_args(f: &Function, act: &Activity, args: &[Operand], again: bool) -> Vec<TokenStream> {
    args.iter()
        .map(|op| match op {
            Operand::Var(v)
                if f.vars[v.0].owned
                    && (again || (f.vars[v.0].kind == Kind::Vector && act.active(*v))) =>
            {
                let i = &f.vars[v.0].ident;
                quote_spanned!(i.span()=> ::core::clone::Clone::clone(&#i))
            }
            _ => operand_tokens(f, op),
        })
        .collect()
}

/// `a..b`, `a..=b`, or with either bound left out (a sub-slice's `a..`).
pub fn range_tokens(
    f: &Function,
    start: Option<&Operand>,
    end: Option<&Operand>,
    inclusive: bool,
) -> TokenStream {
    let start = start.map(|o| operand_tokens(f, o));
    let end = end.map(|o| operand_tokens(f, o));
    if inclusive {
        quote!(#start..=#end)
    } else {
        quote!(#start..#end)
    }
}

/// The arguments of a tensor operation: tensors by name (the rule borrows
/// them, whether or not the user wrote `&`), constants as written.
pub fn tensor_arg_tokens(f: &Function, ins: &crate::ir::Instr) -> Vec<TokenStream> {
    let Op::Tensor(op) = ins.op else {
        unreachable!("only for tensor operations")
    };
    op.arg_roles()
        .zip(&ins.args)
        .map(|(role, a)| match (role, a) {
            (tensor_rules::Role::T | tensor_rules::Role::Bias, Operand::Ref(v)) => {
                f.vars[v.0].ident.to_token_stream()
            }
            _ => operand_tokens(f, a),
        })
        .collect()
}

/// One line of reverse code, before `let`/`+=` is decided.
enum Line {
    /// `grad_target (+)= expr`, or `grad_target[index] += expr`.
    Contrib {
        target: VarId,
        expr: TokenStream,
        index: Option<TokenStream>,
    },
    Raw(TokenStream),
}

pub struct Reverse<'a> {
    pub f: &'a Function,
    pub act: &'a Activity,
    pub plan: &'a Plan,
    pub names: &'a mut Names,
    /// Adjoint names, allocated on first use.
    pub grads: HashMap<VarId, Ident>,
    /// Tape names of taped variables (and loop variables).
    pub tapes: &'a HashMap<VarId, Ident>,
    /// Element tapes of element-written vectors.
    pub elem_tapes: &'a HashMap<VarId, Ident>,
    /// Whether to emit the pops (off in the first run, which only finds
    /// what the sweep reads).
    pub restores: bool,
    /// Counters of the loops around the code being generated.
    pub chain: Vec<VarId>,
    /// What each loop's reverse reads (collected in the first run).
    pub loop_reads: HashMap<VarId, HashSet<VarId>>,
    /// What the reverse of each top-level statement reads (first run).
    pub top_reads: HashMap<usize, Vec<HashSet<String>>>,
    /// Variables by emitted name (built on first use).
    pub by_name: HashMap<String, VarId>,
    /// How many of `sweep`'s lines are up-front adjoint declarations (they
    /// read only vector lengths, which element writes do not change).
    pub upfront_len: usize,
    /// `Local` adjoints that were declared (by their first contribution).
    pub declared: HashSet<VarId>,
    /// The output's cotangent.
    pub seed: TokenStream,
    /// Tensor adjoints read for the last time (moved rather than cloned).
    pub movable: HashSet<Ident>,
    pub ret_ty: &'a syn::Type,
    /// The reverse of each fused loop's iteration, for the forward pass to
    /// run at the end of the iteration ([`crate::fuse`]).
    pub fused_code: HashMap<VarId, FusedCode>,
    /// Parameters whose up-front adjoint starts as a placeholder rather than
    /// a fresh zero vector: `f_vjp_into` binds it to the caller's adjoint,
    /// the other entry points to `zeros_like` ([`crate::emit`]).
    pub bound: HashMap<VarId, Ident>,
}

/// What the forward pass emits for a fused loop.
pub struct FusedCode {
    /// Before the loop: the accumulators' adjoints (`±cotangent`).
    pub decls: Vec<TokenStream>,
    /// Before the loop: the up-front adjoints its reverse adds into, which
    /// must exist when it runs (taken out of the backward section).
    pub early: Vec<TokenStream>,
    /// At the end of each iteration: the iteration's reverse.
    pub body: TokenStream,
}

/// A variable's tape, and a vector's tape of overwritten elements.
pub type Tapes = (HashMap<VarId, Ident>, HashMap<VarId, Ident>);

impl<'a> Reverse<'a> {
    /// A sweep with no pops (set `restores` to emit them).
    pub fn new(
        f: &'a Function,
        act: &'a Activity,
        plan: &'a Plan,
        names: &'a mut Names,
        tapes: &'a Tapes,
        seed: TokenStream,
        ret_ty: &'a syn::Type,
    ) -> Self {
        Reverse {
            f,
            act,
            plan,
            names,
            grads: HashMap::new(),
            tapes: &tapes.0,
            elem_tapes: &tapes.1,
            restores: false,
            chain: Vec::new(),
            loop_reads: HashMap::new(),
            top_reads: HashMap::new(),
            by_name: HashMap::new(),
            upfront_len: 0,
            declared: HashSet::new(),
            seed,
            movable: HashSet::new(),
            ret_ty,
            fused_code: HashMap::new(),
            bound: HashMap::new(),
        }
    }
}

impl Reverse<'_> {
    pub fn grad(&mut self, v: VarId) -> Ident {
        let f = self.f;
        let names = &mut *self.names;
        self.grads
            .entry(v)
            .or_insert_with(|| names.fresh(&format!("grad_{}", f.vars[v.0].ident)))
            .clone()
    }

    fn ident(&self, v: VarId) -> &Ident {
        &self.f.vars[v.0].ident
    }

    /// The whole backward section: up-front adjoints, the seed, the sweep.
    pub fn sweep(&mut self) -> Vec<TokenStream> {
        let seed = self.f.ret.var().filter(|r| self.act.active(*r));
        self.fused_code.clear();
        let lines = self.block(&self.f.body, seed);
        let body = self.render(lines);
        let mut out = self.upfront();
        // An adjoint a fused loop adds into is declared before the first
        // such loop (in program order).
        for s in &self.f.body.stmts {
            let Stmt::Loop(l) = s else { continue };
            let Some(code) = self.fused_code.get_mut(&l.counter) else {
                continue;
            };
            let mut read = HashSet::new();
            idents_in(&code.body, &mut read);
            // A vector declared in the body has its shape only once the
            // iteration has run: its adjoint starts afresh in each
            // iteration's reverse.
            let blocks = crate::fuse::blocks_of(l);
            let per_iteration: HashSet<String> = self
                .grads
                .iter()
                .filter(|(v, _)| {
                    self.f.vars[v.0].kind == Kind::Vector
                        && self.plan.decl_block[v.0].is_some_and(|b| blocks.contains(&b))
                })
                .map(|(_, g)| g.to_string())
                .collect();
            let (early, rest): (Vec<_>, Vec<_>) = out
                .into_iter()
                .partition(|(g, _)| read.contains(&g.to_string()));
            let (inside, early): (Vec<_>, Vec<_>) = early
                .into_iter()
                .partition(|(g, _)| per_iteration.contains(&g.to_string()));
            let inside = inside.into_iter().map(|(_, t)| t);
            let body = &code.body;
            code.body = quote!(#(#inside)* #body);
            code.early = early.into_iter().map(|(_, t)| t).collect();
            out = rest;
        }
        // An adjoint nothing reads (the output's, when the loops adding to
        // it all fused) is not declared; a parameter's is returned.
        let mut read = HashSet::new();
        for t in &body {
            idents_in(t, &mut read);
        }
        let params: HashSet<String> = self
            .f
            .params
            .iter()
            .flatten()
            .filter_map(|p| self.grads.get(p).map(|g| g.to_string()))
            .collect();
        let mut out: Vec<TokenStream> = out
            .into_iter()
            .filter(|(g, _)| read.contains(&g.to_string()) || params.contains(&g.to_string()))
            .map(|(_, t)| t)
            .collect();
        self.upfront_len = out.len();
        out.extend(body);
        out
    }

    /// `let mut grad_v = 0.0;` for every active `Upfront` adjoint, with the
    /// adjoint's name.
    fn upfront(&mut self) -> Vec<(Ident, TokenStream)> {
        let mut out = Vec::new();
        let ret = self.f.ret.var();
        for v in 0..self.f.vars.len() {
            let v = VarId(v);
            if !self.act.active(v) || self.plan.cat[v.0] != AdjCat::Upfront {
                continue;
            }
            let g = self.grad(v);
            if Some(v) == ret {
                let (seed, ty) = (&self.seed, self.ret_ty);
                out.push((g.clone(), quote!(let mut #g: #ty = #seed;)));
            } else if let Some(start) = self.bound.get(&v) {
                out.push((g.clone(), quote!(let mut #g = #start;)));
            } else {
                let zero = self.zero(v);
                out.push((g.clone(), quote!(let mut #g = #zero;)));
            }
        }
        out
    }

    /// Renders lines: a `Local` adjoint's first contribution is its `let`
    /// (`mut` only if more follow), the rest are `+=`.
    fn render(&mut self, lines: Vec<Line>) -> Vec<TokenStream> {
        let mut count: HashMap<VarId, usize> = HashMap::new();
        for l in &lines {
            if let Line::Contrib { target, .. } = l {
                *count.entry(*target).or_default() += 1;
            }
        }
        let ret = self.f.ret.var();
        let mut out = Vec::new();
        for l in lines {
            match l {
                Line::Raw(t) => out.push(t),
                Line::Contrib {
                    target,
                    expr,
                    index,
                } => {
                    let g = self.grad(target);
                    let upfront = self.plan.cat[target.0] == AdjCat::Upfront;
                    if upfront
                        && Some(target) == ret
                        && expr.to_string() == self.seed.to_string()
                        && index.is_none()
                    {
                        // The seed of an up-front output adjoint is its initial value.
                        continue;
                    }
                    let tensor = self.f.vars[target.0].kind == Kind::Tensor;
                    let shared = tensor && self.is_adjoint(&expr);
                    if let Some(ix) = index {
                        out.push(quote!(#g[#ix] += #expr;));
                    } else if shared && (upfront || self.declared.contains(&target)) {
                        out.push(quote!(#g += &#expr;));
                    } else if shared {
                        self.declared.insert(target);
                        let m = (count[&target] > 1).then(|| quote!(mut));
                        out.push(quote!(let #m #g = ::core::clone::Clone::clone(&#expr);));
                    } else if self.f.vars[target.0].kind == Kind::Vector {
                        out.push(quote!(::autodiff::__rt::accumulate(&mut #g, &#expr);));
                    } else if upfront || self.declared.contains(&target) {
                        out.push(quote!(#g += #expr;));
                    } else {
                        self.declared.insert(target);
                        let m = (count[&target] > 1).then(|| quote!(mut));
                        let ty = (Some(target) == ret).then(|| {
                            let t = self.ret_ty;
                            quote!(: #t)
                        });
                        out.push(quote!(let #m #g #ty = #expr;));
                    }
                }
            }
        }
        out
    }

    fn has_grad(&self, v: VarId, pending: &HashSet<VarId>) -> bool {
        self.act.active(v)
            && (self.plan.cat[v.0] == AdjCat::Upfront
                || pending.contains(&v)
                || self.declared.contains(&v))
    }

    /// Reverse lines of a block, last statement first; `seed` is the output,
    /// whose cotangent enters before the function body's reverse.
    fn block(&mut self, b: &Block, seed: Option<VarId>) -> Vec<Line> {
        let mut lines: Vec<Line> = Vec::new();
        // `Local` adjoints given a contribution so far in this block.
        let mut pending: HashSet<VarId> = HashSet::new();
        if let Some(r) = seed {
            pending.insert(r);
            lines.push(Line::Contrib {
                target: r,
                expr: self.seed.clone(),
                index: None,
            });
        }
        // The function's body, and a fused loop's: nothing after its
        // reverse reads what its statements' reverses do not.
        let frame = b.id == 0
            || crate::fuse::fused_loops(self.f, &self.plan.fused).any(|l| l.body.id == b.id);
        if frame {
            self.top_reads
                .insert(b.id, vec![HashSet::new(); b.stmts.len()]);
        }
        for (pos, s) in b.stmts.iter().enumerate().rev() {
            let before = lines.len();
            self.stmt(s, b, &mut lines, &mut pending);
            if frame {
                let mut read = HashSet::new();
                for l in &lines[before..] {
                    match l {
                        Line::Raw(t) => idents_in(t, &mut read),
                        Line::Contrib { expr, index, .. } => {
                            idents_in(expr, &mut read);
                            if let Some(i) = index {
                                idents_in(i, &mut read);
                            }
                        }
                    }
                }
                self.top_reads.get_mut(&b.id).expect("inserted above")[pos] = read;
            }
        }
        lines
    }

    /// Appends the reverse of one statement to `lines`.
    fn stmt(&mut self, s: &Stmt, b: &Block, lines: &mut Vec<Line>, pending: &mut HashSet<VarId>) {
        {
            match s {
                Stmt::Assign(ins) => {
                    let d = ins.dest;
                    if self.has_grad(d, pending) && ins.op != Op::NonDiff {
                        let g = self.grad(d);
                        // Nothing reads a local adjoint, or the adjoint of a
                        // top-level `let`, after its instruction's reverse:
                        // a tensor copy may take it over.
                        let last_read =
                            self.plan.cat[d.0] == AdjCat::Local || (ins.decl && b.id == 0);
                        if last_read && self.f.vars[d.0].kind == Kind::Tensor {
                            self.movable.insert(g.clone());
                        }
                        for line in self.contributions(ins, &g) {
                            if let Line::Contrib { target, .. } = &line {
                                pending.insert(*target);
                            }
                            lines.push(line);
                        }
                    }
                    // (Not at a top-level `let`: nothing before it reads the adjoint.)
                    let top_let = ins.decl && b.id == 0;
                    let mut reset = None;
                    if self.act.active(d)
                        && self.plan.cat[d.0] == AdjCat::Upfront
                        && self.plan.reassigned[d.0]
                        && !top_let
                    {
                        // This assignment's value is consumed; an earlier one starts afresh.
                        let g = self.grad(d);
                        reset = Some(Line::Raw(self.reset(d, &g)));
                    }
                    // A tensor's or vector's zero takes the shape of the
                    // earlier value, which may differ (`h = h.sum()`,
                    // `v = vec![0.0; v.len() - 1]`): after the pop. (A
                    // tensor's zero reads the value, so the value is taped.)
                    let shaped = matches!(self.f.vars[d.0].kind, Kind::Tensor | Kind::Vector);
                    if !shaped {
                        lines.extend(reset.take());
                    }
                    if self.restores
                        && self.pushes_at(d, ins.decl)
                        && !self.plan.fresh_let(ins.decl, &self.chain)
                        && self.plan.around_loop(d, &self.chain).is_none()
                    {
                        let undo = match (&ins.form, &ins.args[..]) {
                            (Form::Copy, [Operand::Var(w)]) => self.plan.invertible.get(&(d, *w)),
                            _ => None,
                        };
                        if let Some(undo) = undo {
                            lines.push(Line::Raw(undo.clone()));
                        } else {
                            let x = self.ident(d).clone();
                            let tape = &self.tapes[&d];
                            lines.push(Line::Raw(quote!(#x = #tape.pop().unwrap();)));
                        }
                    }
                    lines.extend(reset);
                }
                Stmt::Store(st) => {
                    let y = st.vec;
                    let ix = operand_tokens(self.f, &st.index);
                    if self.act.active(y) {
                        let g = self.grad(y);
                        if let Some(v) = st.value.var().filter(|v| self.act.active(*v)) {
                            let expr = match st.mode {
                                StoreMode::Set | StoreMode::Add => quote!(#g[#ix]),
                                StoreMode::Sub => quote!(-#g[#ix]),
                            };
                            pending.insert(v);
                            lines.push(Line::Contrib {
                                target: v,
                                expr,
                                index: None,
                            });
                        }
                        if st.mode == StoreMode::Set {
                            lines.push(Line::Raw(quote!(#g[#ix] = 0.0;)));
                        }
                    }
                    let own = self.plan.saves_element(self.chain.last(), y);
                    if let Some(tape) = self.elem_tapes.get(&y).filter(|_| self.restores && own) {
                        let x = self.ident(y).clone();
                        lines.push(Line::Raw(quote!(#x[#ix] = #tape.pop().unwrap();)));
                    }
                }
                Stmt::If(i) => {
                    let then_lines = self.block(&i.then_block, None);
                    let then_b = self.render(then_lines);
                    let else_lines = self.block(&i.else_block, None);
                    let else_b = self.render(else_lines);
                    if then_b.is_empty() && else_b.is_empty() {
                        return;
                    }
                    let c = operand_tokens(self.f, &i.cond);
                    let t = if else_b.is_empty() {
                        quote!(if #c { #(#then_b)* })
                    } else if then_b.is_empty() {
                        quote!(if !#c { #(#else_b)* })
                    } else {
                        quote!(if #c { #(#then_b)* } else { #(#else_b)* })
                    };
                    lines.push(Line::Raw(t));
                }
                Stmt::Loop(l) => {
                    // A fused loop's accumulators have their own adjoints
                    // in its reverse, starting at `±cotangent`.
                    let fused = self.plan.fused.get(&l.counter).map(|accs| {
                        accs.iter()
                            .map(|&(v, neg)| {
                                let name = format!("fused_grad_{}", self.f.vars[v.0].ident);
                                let g = self.names.fresh(&name);
                                (v, neg, g.clone(), self.grads.insert(v, g))
                            })
                            .collect::<Vec<_>>()
                    });
                    self.chain.push(l.counter);
                    let body_lines = self.block(&l.body, None);
                    let (body_lines, sums) = self.invariant_sums(l, body_lines);
                    let mut body = self.render(body_lines);
                    self.chain.pop();
                    for (v, _, _, old) in fused.iter().flatten() {
                        match old {
                            Some(g) => self.grads.insert(*v, g.clone()),
                            None => self.grads.remove(v),
                        };
                    }
                    {
                        let mut read = HashSet::new();
                        for t in &body {
                            idents_in(t, &mut read);
                        }
                        if self.by_name.is_empty() {
                            self.by_name = (0..self.f.vars.len())
                                .map(|v| (self.f.vars[v].ident.to_string(), VarId(v)))
                                .collect();
                        }
                        let vars: HashSet<VarId> = read
                            .iter()
                            .filter_map(|n| self.by_name.get(n).copied())
                            .collect();
                        self.loop_reads.insert(l.counter, vars);
                    }
                    // An empty reverse body still has its pops below: what
                    // the forward saved around this loop must come back
                    // (a value recomputed later may read it).
                    let empty = body.is_empty();
                    // Values recomputed rather than taped, each just before
                    // the first line that reads it (last candidates first, so
                    // one recomputed from another lands after it).
                    if let Some(cands) = self.plan.remat_in_block.get(&l.body.id) {
                        for ins in cands
                            .iter()
                            .rev()
                            .filter(|ins| self.plan.remat.contains(&ins.dest))
                        {
                            let x = self.ident(ins.dest);
                            let ty = self.f.vars[ins.dest.0].ty.as_ref().map(|t| quote!(: #t));
                            let rhs = rhs_tokens(self.f, ins);
                            let first = body
                                .iter()
                                .position(|t| self.uses_ident(std::slice::from_ref(t), x));
                            if let Some(at) = first {
                                body.insert(at, quote!(let #x #ty = #rhs;));
                            }
                        }
                    }
                    self.pop_loop_var(l, &mut body);
                    let starts = sums.iter().map(|(acc, _, _)| quote!(let mut #acc = 0.0;));
                    let ends = sums.iter().map(|(acc, g, ix)| quote!(#g[#ix] += #acc;));
                    if let Some(accs) = fused {
                        let (seed, ty) = (&self.seed, self.ret_ty);
                        let decls = accs
                            .iter()
                            .map(|(_, neg, g, _)| {
                                let sign = neg.then(|| quote!(-));
                                quote!(let mut #g: #ty = #sign #seed;)
                            })
                            .collect();
                        let body = quote!(#(#starts)* #(#body)* #(#ends)*);
                        self.fused_code.insert(
                            l.counter,
                            FusedCode {
                                decls,
                                body,
                                early: Vec::new(),
                            },
                        );
                    } else {
                        let windowed = crate::window::walk(self.f, self.plan, l, Sweep::Reverse)
                            .and_then(|mut walk| {
                                if !self.regenerates(l, &body) {
                                    walk.var = None;
                                }
                                let vectors = crate::window::vectors(self.f, Some(&self.grads));
                                let n = self.reverse_count(l);
                                crate::window::rewrite(
                                    &walk,
                                    Sweep::Reverse,
                                    &body,
                                    &vectors,
                                    &n,
                                    None,
                                )
                            });
                        let lp = windowed.unwrap_or_else(|| {
                            let head = self.reverse_head(l, &body);
                            quote!(#head { #(#body)* })
                        });
                        if !empty {
                            lines.push(Line::Raw(quote!(#(#starts)* #lp #(#ends)*)));
                        }
                    }
                    if let LoopHead::For { iter, .. } = &l.head {
                        for (y, tape) in
                            crate::forward::bulk_tapes(self.plan, self.elem_tapes, l.counter)
                        {
                            let y = self.ident(y);
                            let range = crate::forward::slice_range(self.f, iter);
                            let n = Ident::new("overwritten", proc_macro2::Span::mixed_site());
                            lines.push(Line::Raw(quote! {
                                let #n = ::core::iter::Iterator::size_hint(&(#range)).0;
                                if #n > 0 {
                                    let #n = #tape.len() - #n;
                                    #y[#range].copy_from_slice(&#tape[#n..]);
                                    #tape.truncate(#n);
                                }
                            }));
                        }
                    }
                    if self.restores
                        && self.plan.taped(l.counter)
                        && self.plan.around_loop(l.counter, &self.chain).is_none()
                    {
                        let (c, tape) = (self.ident(l.counter), &self.tapes[&l.counter]);
                        lines.push(Line::Raw(quote!(#c = #tape.pop().unwrap();)));
                    }
                    if self.restores {
                        for v in self.plan.around.get(&l.counter).into_iter().flatten().rev() {
                            let x = self.ident(*v);
                            let tape = &self.tapes[v];
                            lines.push(Line::Raw(quote!(#x = #tape.pop().unwrap();)));
                        }
                    }
                }
                Stmt::BreakIf(_) | Stmt::Item(_) => {}
            }
        }
    }

    /// A loop variable the forward pass taped (not regenerated from a
    /// range) is popped back at the start of each reverse iteration.
    fn pop_loop_var(&self, l: &crate::ir::Loop, body: &mut Vec<TokenStream>) {
        if let LoopHead::For { var: Some(i), .. } = &l.head {
            let regen = self.plan.regen.contains(&l.counter);
            if !regen && self.restores && self.tapes.contains_key(i) {
                let (x, tape) = (self.ident(*i), &self.tapes[i]);
                body.insert(0, quote!(let #x = #tape.pop().unwrap();));
            }
        }
    }

    /// How many iterations a loop's reverse replays: the range's length
    /// when the plan knows it exact, else the count the forward kept.
    fn reverse_count(&self, l: &crate::ir::Loop) -> TokenStream {
        match (self.plan.exact.contains(&l.counter), &l.head) {
            (true, LoopHead::For { iter, .. }) => {
                let it = crate::forward::iter_tokens(self.f, iter);
                quote!(::core::iter::Iterator::size_hint(&(#it)).0)
            }
            _ => self.ident(l.counter).to_token_stream(),
        }
    }

    /// Whether the reverse `body` reads the loop variable and the head
    /// regenerates it from the range.
    fn regenerates(&self, l: &crate::ir::Loop, body: &[TokenStream]) -> bool {
        match &l.head {
            LoopHead::For { var: Some(i), .. } => {
                self.plan.regen.contains(&l.counter) && self.uses_ident(body, self.ident(*i))
            }
            _ => false,
        }
    }

    /// The head of a loop's reverse: its iterations, last first, with the
    /// regenerated index where the reverse `body` reads it.
    fn reverse_head(&self, l: &crate::ir::Loop, body: &[TokenStream]) -> TokenStream {
        let n = self.reverse_count(l);
        let LoopHead::For {
            var: Some(i),
            iter:
                IterSpec::Range {
                    start,
                    end,
                    inclusive,
                    rev,
                    step,
                },
        } = &l.head
        else {
            return quote!(for _ in 0..#n);
        };
        let x = self.ident(*i);
        if !self.regenerates(l, body) {
            return quote!(for _ in 0..#n);
        }
        // Regenerated indices, last first.
        let rt = quote!(::autodiff::__rt);
        let (s, e) = (operand_tokens(self.f, start), operand_tokens(self.f, end));
        match (rev, step) {
            (false, None) => quote!(for #x in #rt::rev_range(#s, #n)),
            (true, _) => quote!(for #x in #rt::unrev_range(#e, #inclusive, #n)),
            (false, Some(k)) => {
                let k = operand_tokens(self.f, k);
                quote!(for #x in #rt::rev_range_step(#s, #k, #n))
            }
        }
    }

    /// Element contributions `grad_v[k] += e` in a loop's reverse whose
    /// index `k` the loop never changes, where nothing else in the loop
    /// touches `grad_v`: summed in a local (`acc += e`) and added once after
    /// the loop, so the loop carries no dependence through memory (the
    /// reverse of `y[j] += l[li] * x[i]` adds into `grad_x[i]` on every `j`).
    /// Returns the lines and, per sum, the local, the adjoint and the index.
    fn invariant_sums(
        &mut self,
        l: &crate::ir::Loop,
        lines: Vec<Line>,
    ) -> (Vec<Line>, Vec<(Ident, Ident, TokenStream)>) {
        let mut written = l.body.writes();
        if let LoopHead::For { var: Some(v), .. } = &l.head {
            written.insert(*v);
        }
        let written: HashSet<String> = written
            .into_iter()
            .map(|v| self.f.vars[v.0].ident.to_string())
            .collect();
        // An index that stays put: a literal, or a variable the loop does
        // not write.
        let invariant = |ix: &TokenStream| {
            let toks: Vec<TokenTree> = ix.clone().into_iter().collect();
            match toks.as_slice() {
                [TokenTree::Ident(i)] => !written.contains(&i.to_string()),
                [TokenTree::Literal(_)] => true,
                _ => false,
            }
        };
        // Per adjoint: the one invariant index it is touched at, or `None`
        // once anything else touches it.
        let mut only: HashMap<VarId, Option<String>> = HashMap::new();
        // Any occurrence, read or written (`grad_v[k] = 0.0` too).
        fn mentions(t: &TokenStream, g: &str) -> bool {
            t.clone().into_iter().any(|tt| match tt {
                TokenTree::Ident(i) => i == g,
                TokenTree::Group(gr) => mentions(&gr.stream(), g),
                _ => false,
            })
        }
        let targets: Vec<VarId> = lines
            .iter()
            .filter_map(|l| match l {
                Line::Contrib {
                    target,
                    index: Some(_),
                    ..
                } if self.f.vars[target.0].kind == Kind::Vector => Some(*target),
                _ => None,
            })
            .collect();
        for t in targets {
            let g = self.grad(t).to_string();
            let mut seen: Option<Option<String>> = None;
            for line in &lines {
                let here = match line {
                    Line::Contrib {
                        target,
                        expr,
                        index,
                    } => {
                        if *target == t {
                            match index {
                                Some(ix) if invariant(ix) && !mentions(expr, &g) => {
                                    Some(Some(ix.to_string()))
                                }
                                _ => Some(None),
                            }
                        } else if mentions(expr, &g)
                            || index.as_ref().is_some_and(|ix| mentions(ix, &g))
                        {
                            Some(None)
                        } else {
                            None
                        }
                    }
                    Line::Raw(r) => mentions(r, &g).then_some(None),
                };
                if let Some(h) = here {
                    seen = Some(match (seen, h) {
                        (None, h) => h,
                        (Some(Some(a)), Some(b)) if a == b => Some(a),
                        _ => None,
                    });
                }
            }
            only.insert(t, seen.flatten());
        }
        let mut sums: Vec<(Ident, Ident, TokenStream)> = Vec::new();
        let mut acc_of: HashMap<VarId, Ident> = HashMap::new();
        let out = lines
            .into_iter()
            .map(|line| match line {
                Line::Contrib {
                    target,
                    expr,
                    index: Some(ix),
                } if only.get(&target).is_some_and(Option::is_some) => {
                    let acc = acc_of
                        .entry(target)
                        .or_insert_with(|| {
                            let g = self.grads[&target].clone();
                            let acc = self.names.fresh(&format!("{g}_sum"));
                            sums.push((acc.clone(), g, ix.clone()));
                            acc
                        })
                        .clone();
                    Line::Raw(quote!(#acc += #expr;))
                }
                other => other,
            })
            .collect();
        (out, sums)
    }

    fn uses_ident(&self, body: &[TokenStream], x: &Ident) -> bool {
        let mut read = HashSet::new();
        for t in body {
            idents_in(t, &mut read);
        }
        read.contains(&x.to_string())
    }

    /// Whether the forward pass pushes `v`'s old value at this assignment:
    /// taped, and not the one-time `let` of a variable declared in place.
    pub fn pushes_at(&self, v: VarId, decl: bool) -> bool {
        let in_place = decl && !self.plan.hoisted(self.f, self.act, v);
        self.plan.taped(v) && !in_place
    }

    /// `g = 0` for the adjoint `g` of `v`: a vector's in its own buffer.
    fn reset(&self, v: VarId, g: &Ident) -> TokenStream {
        let f = self.f;
        if f.vars[v.0].kind == Kind::Vector {
            let x = shape_ident(f, v);
            quote!(::autodiff::__rt::reset_like(&mut #g, &#x);)
        } else {
            let zero = self.zero(v);
            quote!(#g = #zero;)
        }
    }

    /// The zero adjoint of `v`, of its kind (and shape).
    pub fn zero(&self, v: VarId) -> TokenStream {
        zero_tokens(self.f, v)
    }

    /// Whether `expr` is another value's adjoint (which goes on living), not
    /// a fresh value a tensor adjoint may take over.
    fn is_adjoint(&self, expr: &TokenStream) -> bool {
        let mut it = expr.clone().into_iter();
        match (it.next(), it.next()) {
            (Some(TokenTree::Ident(i)), None) => {
                !self.movable.contains(&i) && self.grads.values().any(|g| *g == i)
            }
            _ => false,
        }
    }

    fn contributions(&mut self, ins: &crate::ir::Instr, g: &Ident) -> Vec<Line> {
        let f = self.f;
        let active = |a: &Operand| a.var().filter(|v| self.act.active(*v));
        match ins.op {
            // `a * a`: one contribution, `g·a·2` (exactly `g·a + g·a`:
            // doubling is exact), instead of two.
            Op::Prim(rules::Prim::Mul)
                if matches!((&ins.args[0], &ins.args[1]), (Operand::Var(a), Operand::Var(b)) if a == b)
                    && active(&ins.args[0]).is_some()
                    && f.vars[ins.dest.0].kind == Kind::Scalar =>
            {
                let v = active(&ins.args[0]).expect("checked");
                let a = operand_tokens(f, &ins.args[0]);
                vec![Line::Contrib {
                    target: v,
                    expr: quote!(#g * #a * 2.0),
                    index: None,
                }]
            }
            Op::Prim(prim) => {
                let args: Vec<Arg> = ins
                    .args
                    .iter()
                    .map(|a| Arg {
                        tokens: operand_tokens(f, a),
                        int: match a {
                            Operand::Const(c) => c.int,
                            _ => None,
                        },
                    })
                    .collect();
                let y = &f.vars[ins.dest.0].ident;
                let mut out = Vec::new();
                for (i, a) in ins.args.iter().enumerate() {
                    let Some(v) = active(a) else { continue };
                    let vector = f.vars[v.0].kind == Kind::Vector;
                    let expr = if vector && prim == rules::Prim::Copy {
                        Some(g.to_token_stream())
                    } else {
                        rules::pullback(prim, i, &args, y, g)
                    };
                    if let Some(expr) = expr {
                        out.push(Line::Contrib {
                            target: v,
                            expr,
                            index: None,
                        });
                    }
                }
                out
            }
            Op::Index => match active(&ins.args[0]) {
                Some(v) => vec![Line::Contrib {
                    target: v,
                    expr: g.to_token_stream(),
                    index: Some(operand_tokens(f, &ins.args[1])),
                }],
                None => Vec::new(),
            },
            Op::VecFill => match active(&ins.args[0]) {
                Some(v) => vec![Line::Contrib {
                    target: v,
                    expr: quote!(::autodiff::__rt::sum(&#g)),
                    index: None,
                }],
                None => Vec::new(),
            },
            Op::List => ins
                .args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    active(a).map(|v| Line::Contrib {
                        target: v,
                        expr: quote!(#g[#i]),
                        index: None,
                    })
                })
                .collect(),
            Op::Sum => match active(&ins.args[0]) {
                Some(v) => {
                    let gx = self.grad(v);
                    vec![Line::Raw(
                        quote!(::autodiff::__rt::add_to_all(&mut #gx, #g);),
                    )]
                }
                None => Vec::new(),
            },
            // A call of constants: nothing to pull back (its result may be
            // a version of a location that is active later, `let mut s =
            // 0.0; fill(&mut s); s += x;`).
            Op::Call if !ins.args.iter().any(|a| active(a).is_some()) => Vec::new(),
            Op::Call => {
                let (path, written) = match &ins.form {
                    Form::Call(path) => (path.clone(), false),
                    Form::OutCall { path, .. } => (crate::output::callee(path), true),
                    _ => return Vec::new(),
                };
                let split = self.plan.split.contains(&ins.dest);
                let vecs = crate::into::vector_args(f, self.act, ins);
                self.call(ins, &path, g, split, vecs.as_deref(), written)
            }
            Op::Tensor(op) => {
                let args = tensor_arg_tokens(f, ins);
                let targets: Vec<(usize, VarId)> = op
                    .arg_roles()
                    .zip(&ins.args)
                    .enumerate()
                    .filter(|(_, (role, _))| !matches!(role, tensor_rules::Role::C))
                    .filter_map(|(i, (_, a))| active(a).map(|v| (i, v)))
                    .collect();
                if targets.is_empty() {
                    return Vec::new();
                }
                let want: Vec<usize> = targets.iter().map(|t| t.0).collect();
                let y = f.vars[ins.dest.0].ident.to_token_stream();
                let names = &mut *self.names;
                let mut fresh = |i: usize| {
                    let base = match ins.args[i].var() {
                        Some(v) => format!("d_{}", f.vars[v.0].ident),
                        None => "d".to_string(),
                    };
                    names.fresh(&base)
                };
                let (pre, exprs) =
                    tensor_rules::pullback(op, &args, &y, &g.to_token_stream(), &want, &mut fresh);
                pre.into_iter()
                    .map(Line::Raw)
                    .chain(
                        targets
                            .iter()
                            .zip(exprs)
                            .map(|((_, v), expr)| Line::Contrib {
                                target: *v,
                                expr,
                                index: None,
                            }),
                    )
                    .collect()
            }
            Op::NonDiff | Op::Opaque => Vec::new(),
        }
    }
}

impl Reverse<'_> {
    /// A call's reverse. With `into` (per argument, whether it is an active
    /// vector: [`crate::into`]) it goes through `f_vjp_into`, which adds
    /// those vectors' gradients into their adjoints (or parts of them) in
    /// place, or, for a split call, from its scratch buffers, scaled;
    /// otherwise through `f_vjp` (or, split, the gradient kept at cotangent
    /// 1, scaled). Other active arguments get their entries as
    /// contributions. A call `written` into a vector ([`crate::output`])
    /// passes that vector's adjoint `g` as the callee's last argument, at
    /// cotangent 1.
    fn call(
        &mut self,
        ins: &crate::ir::Instr,
        path: &TokenStream,
        g: &Ident,
        split: bool,
        into: Option<&[bool]>,
        written: bool,
    ) -> Vec<Line> {
        let f = self.f;
        let mut pats = Vec::new();
        let mut dsts = Vec::new();
        let mut out = Vec::new();
        for (i, a) in ins.args.iter().enumerate() {
            let part = match a {
                Operand::Slice(_, b) => Some(range_tokens(
                    f,
                    b.start.as_ref(),
                    b.end.as_ref(),
                    b.inclusive,
                )),
                _ => None,
            };
            match a.var().filter(|v| self.act.active(*v)) {
                Some(v) if into.is_some_and(|vecs| vecs[i]) => {
                    let gv = self.grad(v);
                    let part = part.unwrap_or_else(|| quote!(..));
                    if split {
                        let (buf, _) = crate::into::scratch(f, ins.dest, i);
                        out.push(Line::Raw(quote!(
                            ::autodiff::__rt::accumulate_scaled(&mut #gv[#part], &#buf, #g);
                        )));
                    }
                    dsts.push(quote!(&mut #gv[#part]));
                    pats.push(quote!(_));
                }
                Some(v) => {
                    let d = self.names.fresh(&format!("d_{}", f.vars[v.0].ident));
                    pats.push(d.to_token_stream());
                    dsts.push(quote!(()));
                    // A gradient taken at cotangent 1, scaled.
                    let expr = if split {
                        quote!(::autodiff::__rt::scale(#d, #g))
                    } else {
                        d.to_token_stream()
                    };
                    if let Some(range) = part {
                        // Vector adjoints are declared up front.
                        let gv = self.grad(v);
                        out.push(Line::Raw(quote!(
                            ::autodiff::__rt::accumulate(&mut #gv[#range], &#expr);
                        )));
                    } else {
                        out.push(Line::Contrib {
                            target: v,
                            expr,
                            index: None,
                        });
                    }
                }
                None => {
                    pats.push(quote!(_));
                    dsts.push(quote!(()));
                }
            }
        }
        let mut args = call_args(f, self.act, &ins.args, true);
        let mut cot = g.to_token_stream();
        if written {
            args.push(quote!(&#g));
            cot = quote!(1.0);
            pats.push(quote!(_));
            dsts.push(quote!(()));
        }
        let call = if split {
            let (_, kept) = crate::split::locals(f, ins.dest);
            quote!(let (#(#pats,)*) = #kept;)
        } else if into.is_some() {
            let into = callee_path(path, "_vjp_into");
            quote!(let (_, (#(#pats,)*)) = #into(#(#args,)* #cot, (#(#dsts,)*));)
        } else {
            let vjp = callee_path(path, "_vjp");
            quote!(let (#(#pats,)*) = #vjp(#(#args,)* #cot);)
        };
        std::iter::once(Line::Raw(call)).chain(out).collect()
    }
}

/// The variable whose value `v`'s adjoint takes its shape from
/// ([`crate::ir::Var::shape`]).
fn shape_ident(f: &Function, v: VarId) -> &Ident {
    &f.vars[f.vars[v.0].shape.unwrap_or(v).0].ident
}

/// The zero adjoint of `v`, of its kind (and shape).
pub fn zero_tokens(f: &Function, v: VarId) -> TokenStream {
    let x = shape_ident(f, v);
    match f.vars[v.0].kind {
        Kind::Vector => quote!(::autodiff::__rt::zeros_like(&#x)),
        Kind::Tensor => quote!(::autodiff::__rt::tensor::Tensor::zeros_like(&#x)),
        _ => quote!(0.0),
    }
}

/// `path::to::g` → `path::to::g_vjp` (for `suffix` `_vjp`), spanned like
/// the user's call so a missing rule is reported at the call.
pub fn callee_path(path: &TokenStream, suffix: &str) -> TokenStream {
    let mut toks: Vec<TokenTree> = path.clone().into_iter().collect();
    if let Some(TokenTree::Ident(last)) = toks.last_mut() {
        let mut id = format_ident!("{}{}", last, suffix);
        id.set_span(last.span());
        *last = id;
    }
    toks.into_iter().collect()
}

/// Every identifier `tokens` reads (to find what the sweep reads): all
/// identifiers except the targets of plain assignments (`x = ...`,
/// `x[i] = ...`), which a pop writes without reading.
pub fn idents_in(tokens: &TokenStream, out: &mut HashSet<String>) {
    let tts: Vec<TokenTree> = tokens.clone().into_iter().collect();
    for (k, tt) in tts.iter().enumerate() {
        match tt {
            TokenTree::Ident(i) => {
                let is_assign = |p: Option<&TokenTree>, q: Option<&TokenTree>| {
                    matches!(p, Some(TokenTree::Punct(p)) if p.as_char() == '=' && p.spacing() == proc_macro2::Spacing::Alone)
                        && !matches!(q, Some(TokenTree::Punct(q)) if q.as_char() == '=')
                };
                let target = is_assign(tts.get(k + 1), tts.get(k + 2))
                    || (matches!(tts.get(k + 1), Some(TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Bracket)
                        && is_assign(tts.get(k + 2), tts.get(k + 3)));
                let prev_is_let =
                    k > 0 && matches!(&tts[k - 1], TokenTree::Ident(p) if p == "let" || p == "mut");
                if !target || prev_is_let {
                    out.insert(i.to_string());
                }
            }
            TokenTree::Group(g) => idents_in(&g.stream(), out),
            _ => {}
        }
    }
}
