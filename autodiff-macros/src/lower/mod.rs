//! Lowering: the function body (syn) to the IR.
//!
//! Each operator, method or call becomes one instruction; nested expressions
//! get temporaries; `let`, reassignment and compound assignment in
//! straight-line code create new SSA versions of the user's variable
//! (shadowing included), scoped like Rust blocks. The outermost operation of
//! `let s0 = w0 * x0;` takes the user's name, so the forward code reads like
//! the source. A variable assigned from inside a branch or loop that it was
//! declared outside of is written in place (a mutable location). `break`,
//! `continue` and `return` become flags, and the statements after them are
//! guarded, so regions stay single-exit. Anything outside the supported
//! subset is reported at its span and lowering goes on, so one compile shows
//! every problem.

use crate::ctxt::Ctxt;
use crate::ir::{
    Block, Constant, Form, Function, If, Instr, IterSpec, Kind, Loop, LoopHead, Op, Operand, Stmt,
    Store, StoreMode, Var, VarId,
};
use crate::names::Names;
use crate::rules::{self, Known, Prim};
use crate::signature::{ParamKind, Signature};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, ToTokens};
use std::collections::HashMap;
use syn::{BinOp, Expr, Lit, Pat, UnOp};

mod control;
mod expr;
mod out_call;
mod tensor;
mod view;

pub use expr::atomic_tokens;
use expr::*;

struct Binding {
    /// `None` while declared (`let y: f64;`) but not yet assigned.
    var: Option<VarId>,
    /// The user's token, from which later versions are named.
    ident: Ident,
    ty: Option<syn::Type>,
    /// A sub-slice binding (`let r = &x[a..b];`, `var` is `None`).
    view: Option<view::View>,
}

struct Frame {
    names: HashMap<String, Binding>,
    /// A branch or loop body: assignments to names bound outside it write
    /// the existing location instead of creating a new version.
    region: bool,
}

/// The flags a loop's exits set, created on the first exit.
struct LoopCtx {
    label: Option<String>,
    /// Set by `continue`/`break`/`return`: skip the rest of this iteration.
    exit: Option<VarId>,
    /// Set by `break`/`return`: stop after this iteration.
    brk: Option<VarId>,
}

/// Early `return`: the value and whether it has been set.
struct RetCtx {
    value: VarId,
    returned: VarId,
}

/// The variable an operation's result is bound to.
// Short-lived values on the stack during lowering: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum BindAs<'i> {
    /// A new version of the user's variable.
    User(&'i Ident, Option<syn::Type>),
    /// A name chosen by the macro (the function's output, `out`); a plain
    /// variable or constant is used as it is, without a copy.
    Fixed(Ident),
    /// An existing location (a branch's value, a loop-carried variable).
    Into(VarId),
}

/// An operation whose result has not been bound to a variable yet: bound to
/// the user's name when it is the whole right-hand side of a `let`, else to a
/// temporary, or folded into a constant when all its arguments are constants.
struct Pending {
    op: Op,
    form: Form,
    args: Vec<Operand>,
    what: String,
    origin: TokenStream,
}

/// The right-hand side of an assignment: written by the user, or an
/// operation the lowering built (a call writing into the vector).
#[allow(clippy::large_enum_variant)]
enum Rhs<'e> {
    Expr(&'e Expr),
    Pending(Pending),
}

impl ToTokens for Rhs<'_> {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        match self {
            Rhs::Expr(e) => e.to_tokens(tokens),
            Rhs::Pending(p) => p.origin.to_tokens(tokens),
        }
    }
}

#[allow(clippy::large_enum_variant)]
enum Value {
    Operand(Operand),
    Pending(Pending),
}

struct Lowerer<'a> {
    cx: &'a Ctxt,
    names: &'a mut Names,
    vars: Vec<Var>,
    /// Statements of the block being built.
    cur: Vec<Stmt>,
    blocks: usize,
    scopes: Vec<Frame>,
    loops: Vec<LoopCtx>,
    ret: Option<RetCtx>,
    /// Exit targets lowered so far: -1 for `return`, else the loop's index.
    exits: Vec<i64>,
    /// The output parameters (`Signature::outputs`).
    outputs: Vec<String>,
}

pub fn lower(
    cx: &Ctxt,
    func: &syn::ItemFn,
    sig: &Signature,
    names: &mut Names,
) -> Option<Function> {
    let mut lw = Lowerer {
        cx,
        names,
        vars: Vec::new(),
        cur: Vec::new(),
        blocks: 1,
        scopes: vec![Frame {
            names: HashMap::new(),
            region: false,
        }],
        loops: Vec::new(),
        ret: None,
        outputs: sig.outputs.iter().map(ToString::to_string).collect(),
        exits: Vec::new(),
    };
    let mut params = Vec::new();
    for p in &sig.params {
        let id = p.ident.as_ref().map(|ident| {
            let emitted = lw.names.user_binding(ident);
            let kind = match p.kind {
                ParamKind::Vector => Kind::Vector,
                ParamKind::Scalar => Kind::Scalar,
                ParamKind::Tensor => Kind::Tensor,
                ParamKind::Constant => crate::signature::kind_of_type(&p.ty),
            };
            let v = lw.new_var(emitted, Some(p.ty.clone()), kind, false);
            lw.bind(ident, Some(v), None);
            v
        });
        params.push(id);
    }
    if has_early_return(&func.block) {
        let value = lw.internal("ret", Kind::Scalar);
        let returned = lw.internal("returned", Kind::Other);
        lw.assign_const(returned, quote!(false));
        lw.ret = Some(RetCtx { value, returned });
    }
    let ret = lw.lower_fn_body(&func.block);
    if cx.has_errors() {
        return None;
    }
    let ret = ret?;
    let body = Block {
        id: 0,
        stmts: std::mem::take(&mut lw.cur),
    };
    let mut f = Function {
        vars: lw.vars,
        params,
        body,
        ret,
    };
    crate::owned::mark(&mut f);
    Some(f)
}

fn unsupported(what: &str, instead: &str) -> String {
    format!("#[grad] does not support {what}: {instead}")
}

/// Whether `return` appears anywhere but as the function's last statement.
fn has_early_return(block: &syn::Block) -> bool {
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
    }
    let n = block.stmts.len();
    let mut f = Finder(false);
    for (i, s) in block.stmts.iter().enumerate() {
        match s {
            syn::Stmt::Expr(Expr::Return(r), _) if i + 1 == n => {
                if let Some(e) = &r.expr {
                    syn::visit::Visit::visit_expr(&mut f, e);
                }
            }
            _ => syn::visit::Visit::visit_stmt(&mut f, s),
        }
    }
    f.0
}

impl Lowerer<'_> {
    fn new_var(
        &mut self,
        ident: Ident,
        ty: Option<syn::Type>,
        kind: Kind,
        internal: bool,
    ) -> VarId {
        self.vars.push(Var {
            ident,
            ty,
            kind,
            internal,
            temp: false,
            owned: false,
            shape: None,
        });
        VarId(self.vars.len() - 1)
    }

    fn internal(&mut self, base: &str, kind: Kind) -> VarId {
        let ident = self.names.fresh(base);
        self.new_var(ident, None, kind, true)
    }

    fn kind(&self, op: &Operand) -> Kind {
        match op {
            Operand::Var(v) | Operand::Ref(v) | Operand::Slice(v, _) => self.vars[v.0].kind,
            // Integer literals are integers; any other constant (`0.0`,
            // `f64::NEG_INFINITY`, a `const` item) may be a float.
            Operand::Const(c) if c.int.is_some() => Kind::Other,
            Operand::Const(_) => Kind::Scalar,
        }
    }

    fn push(&mut self, s: Stmt) {
        self.cur.push(s);
    }

    fn assign_const(&mut self, dest: VarId, tokens: TokenStream) {
        self.push(Stmt::Assign(Instr {
            dest,
            op: Op::NonDiff,
            form: Form::Copy,
            args: vec![Operand::Const(Constant {
                tokens,
                atomic: true,
                int: None,
            })],
            origin: TokenStream::new(),
            what: String::new(),
            decl: false,
        }));
    }

    /// A location written with a value of `kind`: a branch's value location
    /// starts out a number and takes the kind of the first value written
    /// into it that is not one (`if c { w } else { u }` with vectors `w`,
    /// `u`, or with tensors).
    fn take_kind(&mut self, dest: VarId, kind: Kind) {
        if self.vars[dest.0].kind == Kind::Scalar && kind != Kind::Scalar {
            self.vars[dest.0].kind = kind;
        }
    }

    /// `dest = value`. Always a differentiable copy: whether anything flows
    /// is for the activity analysis to say, never a guess about types.
    fn copy_into(&mut self, dest: VarId, value: Operand) {
        let kind = self.kind(&value);
        self.take_kind(dest, kind);
        self.push(Stmt::Assign(Instr {
            dest,
            op: Op::Prim(Prim::Copy),
            form: Form::Copy,
            args: vec![value],
            origin: TokenStream::new(),
            what: String::new(),
            decl: false,
        }));
    }

    fn bind(&mut self, ident: &Ident, var: Option<VarId>, ty: Option<syn::Type>) {
        self.insert_binding(ident, var, ty, None);
    }

    /// Binds `ident` to a view.
    fn bind_view(&mut self, ident: &Ident, view: view::View) {
        self.insert_binding(ident, None, None, Some(view));
    }

    fn insert_binding(
        &mut self,
        ident: &Ident,
        var: Option<VarId>,
        ty: Option<syn::Type>,
        view: Option<view::View>,
    ) {
        self.scopes
            .last_mut()
            .expect("a scope is always open")
            .names
            .insert(
                ident.to_string(),
                Binding {
                    var,
                    ident: ident.clone(),
                    ty,
                    view,
                },
            );
    }

    fn lookup(&self, name: &str) -> Option<&Binding> {
        self.scopes.iter().rev().find_map(|s| s.names.get(name))
    }

    /// The frame holding `name`, and whether a region lies between it and here.
    fn binding_frame(&self, name: &str) -> Option<(usize, bool)> {
        let mut crossed = false;
        for (i, f) in self.scopes.iter().enumerate().rev() {
            if f.names.contains_key(name) {
                return Some((i, crossed));
            }
            crossed |= f.region;
        }
        None
    }

    /// Lowers `stmts` into a new block (a branch or loop body).
    fn region_block(&mut self, f: impl FnOnce(&mut Self)) -> Block {
        let saved = std::mem::take(&mut self.cur);
        self.scopes.push(Frame {
            names: HashMap::new(),
            region: true,
        });
        f(self);
        self.scopes.pop();
        let id = self.blocks;
        self.blocks += 1;
        Block {
            id,
            stmts: std::mem::replace(&mut self.cur, saved),
        }
    }

    fn lower_fn_body(&mut self, block: &syn::Block) -> Option<Operand> {
        let out = self.names.fresh("out");
        let want = match &self.ret {
            Some(r) => BindAs::Into(r.value),
            None => BindAs::Fixed(out),
        };
        let tail = self.lower_stmts(&block.stmts, true, Some(want));
        if let Some(r) = &self.ret {
            return Some(Operand::Var(r.value));
        }
        if tail.is_none() && !self.cx.has_errors() {
            let at = block
                .stmts
                .last()
                .map_or_else(|| block.to_token_stream(), |s| s.to_token_stream());
            self.cx.error_spanned_by(
                at,
                "#[grad]: the function must end with the value it returns (a final expression or `return value;`)",
            );
        }
        tail
    }

    /// The guard for statements after one that may leave the block.
    fn guard_flag(&self) -> Option<VarId> {
        match self.loops.last() {
            Some(l) => l.exit,
            None => self.ret.as_ref().map(|r| r.returned),
        }
    }

    /// Lowers a statement list; returns the value of its tail expression.
    /// After a statement that may exit (`continue`, `break`, `return` inside
    /// it), the rest of the list is lowered under `if !flag { ... }`.
    fn lower_stmts(
        &mut self,
        stmts: &[syn::Stmt],
        fn_body: bool,
        want: Option<BindAs>,
    ) -> Option<Operand> {
        for (idx, stmt) in stmts.iter().enumerate() {
            let last = idx + 1 == stmts.len();
            let before = self.exits.len();
            let depth = self.loops.len() as i64;
            match stmt {
                syn::Stmt::Local(local) => self.lower_local(local),
                syn::Stmt::Item(item) => self.push(Stmt::Item(item.to_token_stream())),
                syn::Stmt::Macro(m) => self.cx.error_spanned_by(m, macro_message(&m.mac)),
                syn::Stmt::Expr(e, semi) => match e {
                    Expr::Return(r) if last && fn_body && self.ret.is_none() => match &r.expr {
                        Some(v) => return self.lower_named(v, want),
                        None => {
                            self.cx
                                .error_spanned_by(r, "#[grad]: `return` needs the value to return");
                            return None;
                        }
                    },
                    _ if last && semi.is_none() && want.is_some() && !is_unit_stmt(e) => {
                        return self.lower_named(e, want);
                    }
                    _ => self.lower_stmt_expr(e),
                },
            }
            let exits = self.exits[before..].iter().any(|&t| t < depth);
            if exits && !last {
                let Some(flag) = self.guard_flag() else {
                    continue;
                };
                let go_on = self.not(flag);
                let rest = &stmts[idx + 1..];
                let mut value = None;
                let want_into = match &want {
                    Some(BindAs::Into(v)) => Some(*v),
                    Some(_) => Some(self.internal("value", Kind::Scalar)),
                    None => None,
                };
                let then_block = self.region_block(|lw| {
                    let v = lw.lower_stmts(rest, fn_body, want_into.map(BindAs::Into));
                    value = v;
                });
                let else_block = Block::default_with(self.next_block());
                self.push(Stmt::If(If {
                    cond: Operand::Var(go_on),
                    then_block,
                    else_block,
                }));
                return want_into.filter(|_| value.is_some()).map(Operand::Var);
            }
        }
        None
    }

    fn next_block(&mut self) -> usize {
        self.blocks += 1;
        self.blocks - 1
    }

    /// The current value of `v` in a fresh variable (an `if` must not test
    /// a variable its own body assigns).
    fn snapshot(&mut self, v: VarId) -> VarId {
        let t = self.internal_temp(Kind::Other);
        self.push(Stmt::Assign(Instr {
            dest: t,
            op: Op::NonDiff,
            form: Form::Copy,
            args: vec![Operand::Var(v)],
            origin: TokenStream::new(),
            what: String::new(),
            decl: true,
        }));
        t
    }

    /// `!flag` into a fresh boolean.
    fn not(&mut self, flag: VarId) -> VarId {
        let v = self.internal_temp(Kind::Other);
        self.push(Stmt::Assign(Instr {
            dest: v,
            op: Op::NonDiff,
            form: Form::Prefix(quote!(!)),
            args: vec![Operand::Var(flag)],
            origin: TokenStream::new(),
            what: String::new(),
            decl: true,
        }));
        v
    }

    fn internal_temp(&mut self, kind: Kind) -> VarId {
        let ident = self.names.temp();
        self.new_var(ident, None, kind, false)
    }

    /// An expression in statement position.
    fn lower_stmt_expr(&mut self, e: &Expr) {
        match e {
            Expr::Assign(a) => self.lower_assign(a),
            Expr::Binary(b) if compound_op(&b.op).is_some() => self.lower_compound(b),
            Expr::If(i) => {
                self.lower_if(i, None);
            }
            Expr::Match(m) => {
                self.lower_match(m, None);
            }
            Expr::ForLoop(f) => self.lower_for(f),
            Expr::While(w) => self.lower_while(w),
            Expr::Loop(l) => self.lower_loop(l),
            Expr::Continue(c) => self.lower_continue(c),
            Expr::Break(b) => self.lower_break(b),
            Expr::Return(r) => self.lower_return(r),
            Expr::Call(c) if self.written_arg(c).is_some() => self.lower_out_call(c),
            Expr::Block(b) if b.label.is_none() => {
                self.scopes.push(Frame {
                    names: HashMap::new(),
                    region: false,
                });
                self.lower_stmts(&b.block.stmts, false, None);
                self.scopes.pop();
            }
            _ => {
                self.lower_value(e);
            }
        }
    }

    fn lower_local(&mut self, local: &syn::Local) {
        if let Some(init) = &local.init {
            if let Some((_, diverge)) = &init.diverge {
                self.cx.error_spanned_by(
                    diverge,
                    unsupported("`let ... else`", "bind the value with a plain `let`"),
                );
                return;
            }
        }
        if let Some(init) = &local.init {
            if self.lower_tuple_let(&local.pat, &init.expr) {
                return;
            }
        }
        let tuple = match &local.pat {
            Pat::Type(pt) => matches!(&*pt.pat, Pat::Tuple(_)),
            p => matches!(p, Pat::Tuple(_)),
        };
        if tuple {
            self.cx.error_spanned_by(
                &local.pat,
                unsupported(
                    "this tuple `let`",
                    "a tuple of names takes a tuple of values, `let (a, b) = (e1, e2);`, or `x.sin_cos()`; bind anything else to one name with its own `let`",
                ),
            );
            return;
        }
        let (ident, ty) = match &local.pat {
            Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                (pi.ident.clone(), None)
            }
            Pat::Type(pt) => match &*pt.pat {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    (pi.ident.clone(), Some((*pt.ty).clone()))
                }
                other => return self.bad_pattern(other),
            },
            Pat::Wild(_) => {
                if let Some(init) = &local.init {
                    self.lower_value(&init.expr);
                }
                return;
            }
            other => return self.bad_pattern(other),
        };
        match &local.init {
            None => self.bind(&ident, None, ty),
            // `let r = &x[a..b];`, `let s = r;`: a view.
            Some(init) if sub_slice(&init.expr).is_some() || self.view_of(&init.expr).is_some() => {
                let view = match sub_slice(&init.expr) {
                    Some((base, range)) => self.lower_view(&init.expr, base, range),
                    None => self.view_of(&init.expr),
                };
                if let Some(view) = view {
                    self.bind_view(&ident, view);
                }
            }
            Some(init) => {
                if let Some(Operand::Var(var)) =
                    self.lower_named(&init.expr, Some(BindAs::User(&ident, ty.clone())))
                {
                    self.bind(&ident, Some(var), ty);
                }
            }
        }
    }

    /// `let (a, b) = (e1, e2);` (typed or not, `_` allowed) and
    /// `let (s, c) = x.sin_cos();`: one `let` per name, every value computed
    /// before any name is bound (`let (a, b) = (b, a);` swaps). Returns
    /// false for any other pattern, which the caller reports.
    fn lower_tuple_let(&mut self, pat: &Pat, init: &Expr) -> bool {
        let (pat, tys) = match pat {
            Pat::Type(pt) => match (&*pt.pat, &*pt.ty) {
                (Pat::Tuple(t), syn::Type::Tuple(tt)) if tt.elems.len() == t.elems.len() => {
                    (t, tt.elems.iter().cloned().map(Some).collect())
                }
                _ => return false,
            },
            Pat::Tuple(t) => (t, vec![None; t.elems.len()]),
            _ => return false,
        };
        let mut names = Vec::new();
        for p in &pat.elems {
            match p {
                Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                    names.push(Some(pi.ident.clone()));
                }
                Pat::Wild(_) => names.push(None),
                _ => return false,
            }
        }
        let mut init = init;
        while let Expr::Paren(p) = init {
            init = &p.expr;
        }
        let values: Vec<Expr> = match init {
            Expr::Tuple(t) if t.elems.len() == names.len() => t.elems.iter().cloned().collect(),
            Expr::MethodCall(m)
                if m.method == "sin_cos" && m.args.is_empty() && names.len() == 2 =>
            {
                // The receiver once, under a name the user cannot write.
                let recv = Ident::new("__sin_cos_arg", m.method.span());
                let Some(Operand::Var(v)) =
                    self.lower_named(&m.receiver, Some(BindAs::User(&recv, None)))
                else {
                    return true;
                };
                self.bind(&recv, Some(v), None);
                vec![
                    syn::parse_quote_spanned!(m.method.span()=> #recv.sin()),
                    syn::parse_quote_spanned!(m.method.span()=> #recv.cos()),
                ]
            }
            _ => return false,
        };
        let mut bound = Vec::new();
        for ((name, ty), e) in names.into_iter().zip(tys).zip(&values) {
            match name {
                Some(ident) => {
                    let want = BindAs::User(&ident, ty.clone());
                    if let Some(Operand::Var(var)) = self.lower_named(e, Some(want)) {
                        bound.push((ident.clone(), var, ty));
                    }
                }
                None => {
                    self.lower_value(e);
                }
            }
        }
        for (ident, var, ty) in bound {
            self.bind(&ident, Some(var), ty);
        }
        true
    }

    fn bad_pattern(&self, pat: &Pat) {
        self.cx.error_spanned_by(
            pat,
            unsupported(
                "this `let` pattern",
                "bind each value to a plain name with its own `let` (`let a = ...;`)",
            ),
        );
    }

    /// Binds `value` to the name `ident` by assignment: a new version when
    /// no region lies between here and the binding, else a write of the
    /// existing location.
    fn assign_name(&mut self, ident: &Ident, rhs: &Expr) {
        self.assign_rhs(ident, Rhs::Expr(rhs));
    }

    /// `ident = rhs`: a new version of the name in straight-line code, a
    /// write into its location across a region.
    fn assign_rhs(&mut self, ident: &Ident, rhs: Rhs) {
        let name = ident.to_string();
        let Some((frame, crossed)) = self.binding_frame(&name) else {
            return;
        };
        let (binding_ident, ty, current) = {
            let b = &self.scopes[frame].names[&name];
            if b.view.is_some() {
                self.view_misused(&rhs, ident);
                return;
            }
            (b.ident.clone(), b.ty.clone(), b.var)
        };
        if !crossed {
            let want = BindAs::User(&binding_ident, ty);
            let value = match rhs {
                Rhs::Expr(e) => self.lower_named(e, Some(want)),
                Rhs::Pending(p) => Some(Operand::Var(self.bind_pending(p, Some(want)))),
            };
            if let Some(Operand::Var(v)) = value {
                self.scopes[frame]
                    .names
                    .get_mut(&name)
                    .expect("found above")
                    .var = Some(v);
                if let Some(prev) = current {
                    self.tie_constant_type(v, prev);
                }
            }
            return;
        }
        let dest = match current {
            Some(v) => v,
            None => {
                let emitted = self.names_user(&binding_ident);
                let v = self.new_var(emitted, ty, Kind::Scalar, true);
                self.scopes[frame]
                    .names
                    .get_mut(&name)
                    .expect("found above")
                    .var = Some(v);
                v
            }
        };
        match rhs {
            Rhs::Expr(e) => self.lower_into(e, dest, &binding_ident),
            Rhs::Pending(p) => self.pending_into(p, dest, &binding_ident),
        }
    }

    /// `x = 0.1;` makes a new version `x_1` from a bare literal, whose type
    /// rustc could no longer infer (`x_1.abs()` would be ambiguous): tie it
    /// to the previous version's type, `let x_1 = like(&x, 0.1);`.
    fn tie_constant_type(&mut self, v: VarId, prev: VarId) {
        if let Some(Stmt::Assign(ins)) = self.cur.last_mut() {
            if ins.dest == v
                && matches!(ins.form, Form::Copy)
                && matches!(ins.args[..], [Operand::Const(_)])
            {
                let c = ins.args.pop().expect("one argument");
                ins.op = Op::NonDiff;
                ins.form = Form::Call(quote!(::autodiff::__rt::like));
                ins.args = vec![Operand::Ref(prev), c];
            }
        }
    }

    fn names_user(&mut self, ident: &Ident) -> Ident {
        self.names.user_binding(ident)
    }

    /// Writes the value of `rhs` into the existing location `dest`.
    fn lower_into(&mut self, rhs: &Expr, dest: VarId, ident: &Ident) {
        match self.lower_value(rhs) {
            Some(Value::Pending(p)) => self.pending_into(p, dest, ident),
            // `x = x;` changes nothing (and a copy of a location into
            // itself would consume its own adjoint).
            Some(Value::Operand(op)) if op.var() == Some(dest) => {}
            Some(Value::Operand(op)) => self.copy_into(dest, op),
            None => {}
        }
    }

    fn pending_into(&mut self, p: Pending, dest: VarId, ident: &Ident) {
        if p.args.iter().flat_map(Operand::reads).any(|a| a == dest) {
            // `acc = acc * x`: the new value gets its own name first,
            // so no instruction reads the location it overwrites.
            let written = matches!(p.form, Form::OutCall { .. });
            let v = self.bind_pending(p, Some(BindAs::User(ident, None)));
            if written {
                self.vars[v.0].shape = Some(dest);
            }
            self.copy_into(dest, Operand::Var(v));
        } else {
            self.bind_pending(p, Some(BindAs::Into(dest)));
        }
    }

    /// The local variable an assignment writes, or an error.
    fn assign_target(&self, target: &Expr) -> Option<Ident> {
        if let Expr::Path(p) = target {
            if let Some(id) = p.path.get_ident() {
                if self.lookup(&id.to_string()).is_some() {
                    return Some(id.clone());
                }
            }
        }
        self.cx.error_spanned_by(
            target,
            unsupported(
                "assigning to this place",
                "assign only to local variables, parameters and elements of local vectors (`acc = ...`, `y[i] += ...`)",
            ),
        );
        None
    }

    fn lower_assign(&mut self, a: &syn::ExprAssign) {
        if let Expr::Index(ix) = &*a.left {
            return self.lower_store(ix, &a.right, StoreMode::Set);
        }
        let Some(ident) = self.assign_target(&a.left) else {
            return;
        };
        self.assign_name(&ident, &a.right);
    }

    /// `x op= e` is `x = x op e`: for floats the two round identically.
    fn lower_compound(&mut self, b: &syn::ExprBinary) {
        if let Expr::Index(ix) = &*b.left {
            match &b.op {
                BinOp::AddAssign(_) => return self.lower_store(ix, &b.right, StoreMode::Add),
                BinOp::SubAssign(_) => return self.lower_store(ix, &b.right, StoreMode::Sub),
                _ => {
                    // `y[i] *= v`: read, combine, write.
                    let (op, token) = compound_op(&b.op).expect("checked by the caller");
                    let (Some(vec), Some(index)) =
                        (self.store_target(ix), self.lower_operand(&ix.index))
                    else {
                        return;
                    };
                    let old = self.bind_pending(index_pending(vec, index.clone()), None);
                    let Some(rhs) = self.lower_operand(&b.right) else {
                        return;
                    };
                    let new = self.bind_pending(
                        Pending {
                            op,
                            form: Form::Infix(token),
                            args: vec![Operand::Var(old), rhs],
                            what: "operator".into(),
                            origin: TokenStream::new(),
                        },
                        None,
                    );
                    self.push(Stmt::Store(Store {
                        vec,
                        index,
                        value: Operand::Var(new),
                        mode: StoreMode::Set,
                    }));
                    return;
                }
            }
        }
        let Some(ident) = self.assign_target(&b.left) else {
            return;
        };
        // Rebuild `x op e` as an expression so it lowers like any other.
        let (_, token) = compound_op(&b.op).expect("checked by the caller");
        let left = &b.left;
        let right = &b.right;
        let expr: Expr = syn::parse2(quote!(#left #token (#right))).expect("a binary expression");
        let name = ident.to_string();
        if self.lookup(&name).is_some_and(|bd| bd.view.is_some()) {
            return self.view_misused(&b.left, &ident);
        }
        if self.lookup(&name).is_some_and(|bd| bd.var.is_none()) {
            self.cx
                .error_spanned_by(&b.left, format!("`{ident}` is used before it is assigned"));
            return;
        }
        self.assign_name(&ident, &expr);
    }

    fn store_target(&self, ix: &syn::ExprIndex) -> Option<VarId> {
        if let Expr::Path(p) = &*ix.expr {
            if let Some(id) = p.path.get_ident() {
                if let Some(Binding { var: Some(v), .. }) = self.lookup(&id.to_string()) {
                    return Some(*v);
                }
            }
        }
        self.cx.error_spanned_by(
            &ix.expr,
            unsupported(
                "writing elements of this expression",
                "write elements of a local vector (`let mut y = vec![0.0; n]; y[i] = ...;`)",
            ),
        );
        None
    }

    fn lower_store(&mut self, ix: &syn::ExprIndex, rhs: &Expr, mode: StoreMode) {
        let vec = self.store_target(ix);
        let index = self.lower_operand(&ix.index);
        let value = self.lower_operand(rhs);
        if let (Some(vec), Some(index), Some(value)) = (vec, index, value) {
            self.push(Stmt::Store(Store {
                vec,
                index,
                value,
                mode,
            }));
        }
    }

    /// Lowers `e`; with `want`, the result is bound as it says (the
    /// outermost operation takes the name directly).
    fn lower_named(&mut self, e: &Expr, want: Option<BindAs>) -> Option<Operand> {
        let Some(want) = want else {
            return self.lower_operand(e);
        };
        match e {
            Expr::Block(b) if b.label.is_none() && b.attrs.is_empty() => {
                return self.lower_block(&b.block, Some(want));
            }
            Expr::If(i) => return self.lower_if(i, Some(want)),
            Expr::Match(m) => return self.lower_match(m, Some(want)),
            Expr::Paren(p) => return self.lower_named(&p.expr, Some(want)),
            _ => {}
        }
        match (self.lower_value(e)?, want) {
            (Value::Pending(p), want) => Some(Operand::Var(self.bind_pending(p, Some(want)))),
            (Value::Operand(op), BindAs::User(ident, ty)) => Some(self.bind_copy(op, ident, ty)),
            (Value::Operand(op), BindAs::Fixed(_)) => Some(op),
            (Value::Operand(op), BindAs::Into(v)) => {
                self.copy_into(v, op);
                Some(Operand::Var(v))
            }
        }
    }

    /// `let a = b;`: a copy under the user's name.
    fn bind_copy(&mut self, op: Operand, ident: &Ident, ty: Option<syn::Type>) -> Operand {
        let p = Pending {
            op: Op::Prim(Prim::Copy),
            form: Form::Copy,
            args: vec![op],
            what: String::new(),
            origin: TokenStream::new(),
        };
        Operand::Var(self.bind_pending(p, Some(BindAs::User(ident, ty))))
    }

    fn result_kind(&self, p: &Pending) -> Kind {
        let kinds: Vec<Kind> = p.args.iter().map(|a| self.kind(a)).collect();
        match p.op {
            Op::Index => {
                if kinds[0] == Kind::Vector {
                    Kind::Scalar
                } else {
                    Kind::Other
                }
            }
            Op::VecFill | Op::List => Kind::Vector,
            // The vector written into, of its kind.
            Op::Call => match p.form {
                Form::OutCall { out, .. } => kinds[out],
                _ => Kind::Scalar,
            },
            Op::Sum => Kind::Scalar,
            Op::Tensor(op) if op.rule().to_scalar => Kind::Scalar,
            Op::Tensor(_) => Kind::Tensor,
            Op::NonDiff => Kind::Other,
            Op::Prim(Prim::Copy) => kinds.first().copied().unwrap_or(Kind::Scalar),
            Op::Prim(Prim::CastFloat) => Kind::Scalar,
            Op::Prim(_) | Op::Opaque => {
                if !kinds.is_empty() && kinds.iter().all(|k| *k == Kind::Other) {
                    Kind::Other
                } else {
                    Kind::Scalar
                }
            }
        }
    }

    fn bind_pending(&mut self, p: Pending, want: Option<BindAs>) -> VarId {
        let kind = self.result_kind(&p);
        let (dest, decl) = match want {
            Some(BindAs::User(user, ty)) => {
                let ident = self.names.user_binding(user);
                (self.new_var(ident, ty, kind, false), true)
            }
            Some(BindAs::Fixed(name)) => (self.new_var(name, None, kind, false), true),
            Some(BindAs::Into(v)) => {
                self.take_kind(v, kind);
                (v, false)
            }
            None => {
                let ident = self.names.temp();
                let v = self.new_var(ident, None, kind, false);
                self.vars[v.0].temp = true;
                (v, true)
            }
        };
        self.push(Stmt::Assign(Instr {
            dest,
            op: p.op,
            form: p.form,
            args: p.args,
            what: p.what,
            origin: p.origin,
            decl,
        }));
        dest
    }

    /// Lowers `e` to an operand, binding any operation to a temporary.
    fn lower_operand(&mut self, e: &Expr) -> Option<Operand> {
        match e {
            Expr::If(_) | Expr::Match(_) => {
                let v = self.internal("value", Kind::Scalar);
                return self.lower_named(e, Some(BindAs::Into(v)));
            }
            _ => {}
        }
        match self.lower_value(e)? {
            Value::Operand(op) => Some(op),
            Value::Pending(p) => match fold_constant(&p) {
                Some(c) => Some(Operand::Const(c)),
                None => Some(Operand::Var(self.bind_pending(p, None))),
            },
        }
    }

    fn lower_block(&mut self, block: &syn::Block, want: Option<BindAs>) -> Option<Operand> {
        self.scopes.push(Frame {
            names: HashMap::new(),
            region: false,
        });
        let tail = self.lower_stmts(&block.stmts, false, want);
        self.scopes.pop();
        if tail.is_none() && !self.cx.has_errors() && !self.block_exits(block) {
            self.cx.error_spanned_by(
                block,
                "#[grad]: this block has no value; end it with an expression",
            );
        }
        tail
    }

    fn block_exits(&self, block: &syn::Block) -> bool {
        block.stmts.last().is_some_and(|s| {
            matches!(
                s,
                syn::Stmt::Expr(Expr::Continue(_) | Expr::Break(_) | Expr::Return(_), _)
            )
        })
    }

    /// A call's arguments: as [`Self::lower_args`], and `&x[a..b]` of a
    /// vector, which the call borrows and whose gradient lands in that part
    /// of `x`'s.
    fn lower_call_args<'e>(
        &mut self,
        args: impl IntoIterator<Item = &'e Expr>,
    ) -> Option<Vec<Operand>> {
        self.lower_each(args, |s, a| match sub_slice(a) {
            Some((base, range)) if s.view_of(base).is_some() => {
                let view = s.lower_view(a, base, range)?;
                Some(s.view_argument(&view))
            }
            Some((base, range)) => s.lower_sub_slice(a, base, range),
            None => match s.view_of(a) {
                Some(view) => Some(s.view_argument(&view)),
                None => s.lower_arg(a),
            },
        })
    }

    /// `&base[range]` as a call's argument.
    fn lower_sub_slice(
        &mut self,
        e: &Expr,
        base: &Expr,
        range: &syn::ExprRange,
    ) -> Option<Operand> {
        let v = self.lower_operand(base);
        let start = range.start.as_ref().map(|s| self.lower_operand(s));
        let end = range.end.as_ref().map(|s| self.lower_operand(s));
        let v = v?;
        let start = start.map_or(Some(None), |s| s.map(Some))?;
        let end = end.map_or(Some(None), |s| s.map(Some))?;
        let v = self.sliced_vector(e, v)?;
        Some(Operand::Slice(
            v,
            Box::new(crate::ir::Bounds {
                start,
                end,
                inclusive: matches!(range.limits, syn::RangeLimits::Closed(_)),
            }),
        ))
    }

    /// The vector `&base[..]` (the expression `e`) slices, `base` lowered
    /// to `op`; anything else is reported.
    fn sliced_vector(&self, e: &Expr, op: Operand) -> Option<VarId> {
        match op {
            Operand::Var(v) if matches!(self.vars[v.0].kind, Kind::Vector | Kind::Other) => Some(v),
            _ => {
                self.cx.error_spanned_by(
                    e,
                    unsupported(
                        "sub-slices of anything but a vector",
                        "slice a vector variable (`&x[a..b]` with `x: &[f64]`, `Vec<f32>`, ...)",
                    ),
                );
                None
            }
        }
    }

    fn lower_args<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) -> Option<Vec<Operand>> {
        self.lower_each(args, Self::lower_arg)
    }

    /// Every argument lowered by `one`, each error reported: all of them,
    /// or `None` if any failed.
    fn lower_each<'e>(
        &mut self,
        args: impl IntoIterator<Item = &'e Expr>,
        mut one: impl FnMut(&mut Self, &'e Expr) -> Option<Operand>,
    ) -> Option<Vec<Operand>> {
        let lowered: Vec<Option<Operand>> = args.into_iter().map(|a| one(self, a)).collect();
        lowered.into_iter().collect()
    }

    fn lower_arg(&mut self, a: &Expr) -> Option<Operand> {
        match a {
            // `&x` of a vector: passed by reference to a call.
            Expr::Reference(r) if r.mutability.is_none() => match self.lower_operand(&r.expr) {
                Some(Operand::Var(v)) if self.vars[v.0].kind == Kind::Vector => {
                    Some(Operand::Ref(v))
                }
                // `&t` of a tensor (tensor operations borrow anyway; a
                // call of a `#[grad]` function gets what was written),
                // `&labels`: passed as written.
                Some(Operand::Var(v))
                    if matches!(self.vars[v.0].kind, Kind::Tensor | Kind::Other) =>
                {
                    Some(Operand::Ref(v))
                }
                Some(_) => {
                    self.cx.error_spanned_by(
                        a,
                        unsupported(
                            "references to scalars (`&x`)",
                            "pass `f32`/`f64` values by value",
                        ),
                    );
                    None
                }
                None => None,
            },
            _ => self.lower_operand(a),
        }
    }
}

impl Block {
    fn default_with(id: usize) -> Block {
        Block {
            id,
            stmts: Vec::new(),
        }
    }
}
/// A statement expression whose value is `()` even without a semicolon.
fn is_unit_stmt(e: &Expr) -> bool {
    matches!(
        e,
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) | Expr::Assign(_)
    ) || matches!(e, Expr::Binary(b) if compound_op(&b.op).is_some())
        || matches!(e, Expr::If(i) if i.else_branch.is_none())
}

/// `&base[range]`, unparenthesised: a sub-slice passed by reference.
fn sub_slice(e: &Expr) -> Option<(&Expr, &syn::ExprRange)> {
    let Expr::Reference(r) = e else { return None };
    if r.mutability.is_some() {
        return None;
    }
    let Expr::Index(ix) = &*r.expr else {
        return None;
    };
    let Expr::Range(range) = &*ix.index else {
        return None;
    };
    Some((&ix.expr, range))
}
