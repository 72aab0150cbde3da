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

struct Binding {
    /// `None` while declared (`let y: f64;`) but not yet assigned.
    var: Option<VarId>,
    /// The user's token, from which later versions are named.
    ident: Ident,
    ty: Option<syn::Type>,
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
        exits: Vec::new(),
    };
    let mut params = Vec::new();
    for p in &sig.params {
        let id = p.ident.as_ref().map(|ident| {
            let emitted = lw.names.user_binding(ident);
            let kind = match p.kind {
                ParamKind::Vector => Kind::Vector,
                ParamKind::Scalar => Kind::Scalar,
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
    Some(Function {
        vars: lw.vars,
        params,
        body,
        ret,
    })
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
        });
        VarId(self.vars.len() - 1)
    }

    fn internal(&mut self, base: &str, kind: Kind) -> VarId {
        let ident = self.names.fresh(base);
        self.new_var(ident, None, kind, true)
    }

    fn kind(&self, op: &Operand) -> Kind {
        match op {
            Operand::Var(v) | Operand::Ref(v) => self.vars[v.0].kind,
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

    /// `dest = value`. Always a differentiable copy: whether anything flows
    /// is for the activity analysis to say, never a guess about types.
    fn copy_into(&mut self, dest: VarId, value: Operand) {
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
            Some(init) => {
                if let Some(Operand::Var(var)) =
                    self.lower_named(&init.expr, Some(BindAs::User(&ident, ty.clone())))
                {
                    self.bind(&ident, Some(var), ty);
                }
            }
        }
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
        let name = ident.to_string();
        let Some((frame, crossed)) = self.binding_frame(&name) else {
            return;
        };
        let (binding_ident, ty, current) = {
            let b = &self.scopes[frame].names[&name];
            (b.ident.clone(), b.ty.clone(), b.var)
        };
        if !crossed {
            if let Some(Operand::Var(v)) =
                self.lower_named(rhs, Some(BindAs::User(&binding_ident, ty)))
            {
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
        self.lower_into(rhs, dest, &binding_ident);
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
            Some(Value::Pending(p)) => {
                if p.args.iter().any(|a| a.var() == Some(dest)) {
                    // `acc = acc * x`: the new value gets its own name first,
                    // so no instruction reads the location it overwrites.
                    let v = self.bind_pending(p, Some(BindAs::User(ident, None)));
                    self.copy_into(dest, Operand::Var(v));
                } else {
                    self.bind_pending(p, Some(BindAs::Into(dest)));
                }
            }
            // `x = x;` changes nothing (and a copy of a location into
            // itself would consume its own adjoint).
            Some(Value::Operand(op)) if op.var() == Some(dest) => {}
            Some(Value::Operand(op)) => self.copy_into(dest, op),
            None => {}
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
                    let old = self.bind_pending(index_pending(vec, index.clone(), ix), None);
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
            Op::Call => Kind::Scalar,
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
                if self.vars[v.0].kind == Kind::Scalar && kind != Kind::Scalar {
                    self.vars[v.0].kind = kind;
                }
                (v, false)
            }
            None => {
                let ident = self.names.temp();
                (self.new_var(ident, None, kind, false), true)
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

    fn lower_args<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) -> Option<Vec<Operand>> {
        let mut out = Vec::new();
        let mut ok = true;
        for a in args {
            let op = match a {
                // `&x` of a vector: passed by reference to a call.
                Expr::Reference(r) if r.mutability.is_none() => match self.lower_operand(&r.expr) {
                    Some(Operand::Var(v)) if self.vars[v.0].kind == Kind::Vector => {
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
            };
            match op {
                Some(op) => out.push(op),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    // ----- control flow -------------------------------------------------

    /// The value of a condition, with `&&`/`||` short-circuiting as in Rust
    /// (the right side may index or divide only when the left allows it).
    fn lower_cond(&mut self, e: &Expr) -> Option<Operand> {
        match e {
            Expr::Paren(p) => self.lower_cond(&p.expr),
            Expr::Binary(b) if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) => {
                let left = self.lower_cond(&b.left)?;
                let t = self.internal("cond", Kind::Other);
                self.copy_into(t, left);
                let is_and = matches!(b.op, BinOp::And(_));
                // The branch tests a snapshot: its body overwrites `t`, and
                // the reverse sweep must see the value the test saw.
                let test = if is_and {
                    Operand::Var(self.snapshot(t))
                } else {
                    Operand::Var(self.not(t))
                };
                let mut ok = true;
                let right_block = self.region_block(|lw| match lw.lower_cond(&b.right) {
                    Some(r) => lw.copy_into(t, r),
                    None => ok = false,
                });
                let else_block = Block::default_with(self.next_block());
                self.push(Stmt::If(If {
                    cond: test,
                    then_block: right_block,
                    else_block,
                }));
                ok.then_some(Operand::Var(t))
            }
            _ => self.lower_operand(e),
        }
    }

    fn lower_if(&mut self, i: &syn::ExprIf, want: Option<BindAs>) -> Option<Operand> {
        if let Expr::Let(l) = &*i.cond {
            self.cx.error_spanned_by(
                l,
                unsupported("`if let`", "test the value with a comparison (`if n == 0`)"),
            );
            return None;
        }
        let cond = self.lower_cond(&i.cond)?;
        let dest = self.branch_dest(want.as_ref());
        let then_block = self.region_block(|lw| {
            lw.lower_stmts(&i.then_branch.stmts, false, dest.map(BindAs::Into));
        });
        let else_block = self.region_block(|lw| match &i.else_branch {
            Some((_, e)) => match &**e {
                Expr::If(inner) => {
                    lw.lower_if(inner, dest.map(BindAs::Into));
                }
                Expr::Block(b) => {
                    lw.lower_stmts(&b.block.stmts, false, dest.map(BindAs::Into));
                }
                other => {
                    lw.lower_named(other, dest.map(BindAs::Into));
                }
            },
            None => {
                if dest.is_some() {
                    lw.cx.error_spanned_by(
                        i,
                        "#[grad]: an `if` used as a value needs an `else` branch",
                    );
                }
            }
        });
        self.push(Stmt::If(If {
            cond,
            then_block,
            else_block,
        }));
        self.finish_branch_value(dest, want)
    }

    /// The location a branching expression's value is written to.
    fn branch_dest(&mut self, want: Option<&BindAs>) -> Option<VarId> {
        match want? {
            BindAs::Into(v) => Some(*v),
            _ => Some(self.internal("value", Kind::Scalar)),
        }
    }

    /// After a branch wrote its value into `dest`, binds it as `want` says.
    fn finish_branch_value(
        &mut self,
        dest: Option<VarId>,
        want: Option<BindAs>,
    ) -> Option<Operand> {
        let dest = dest?;
        match want? {
            BindAs::Into(_) | BindAs::Fixed(_) => Some(Operand::Var(dest)),
            BindAs::User(ident, ty) => Some(self.bind_copy(Operand::Var(dest), ident, ty)),
        }
    }

    fn lower_match(&mut self, m: &syn::ExprMatch, want: Option<BindAs>) -> Option<Operand> {
        let scrutinee = self.lower_operand(&m.expr)?;
        let dest = self.branch_dest(want.as_ref());
        self.lower_arms(&m.arms, &scrutinee, dest);
        self.finish_branch_value(dest, want)
    }

    fn lower_arms(&mut self, arms: &[syn::Arm], s: &Operand, dest: Option<VarId>) {
        let Some((arm, rest)) = arms.split_first() else {
            return;
        };
        let test = self.pattern_test(&arm.pat, s);
        let test = match (&arm.guard, test) {
            (Some((_, g)), Some(Some(t))) => {
                // `pat if guard`: both must hold; the guard only when the pattern does.
                let c = self.internal("cond", Kind::Other);
                self.copy_into(c, t);
                let guard_test = self.snapshot(c);
                let mut ok = true;
                let gb = self.region_block(|lw| match lw.lower_cond(g) {
                    Some(gv) => lw.copy_into(c, gv),
                    None => ok = false,
                });
                let eb = Block::default_with(self.next_block());
                self.push(Stmt::If(If {
                    cond: Operand::Var(guard_test),
                    then_block: gb,
                    else_block: eb,
                }));
                ok.then_some(Some(Operand::Var(c)))
            }
            (Some((_, g)), Some(None)) => self.lower_cond(g).map(Some),
            (_, None) => None,
            (None, Some(t)) => Some(t),
        };
        let Some(test) = test else { return };
        let body = |lw: &mut Self| {
            lw.lower_named_or_stmt(&arm.body, dest);
        };
        match test {
            // An irrefutable arm: the rest can never run.
            None => body(self),
            Some(cond) => {
                let then_block = self.region_block(body);
                let else_block = self.region_block(|lw| lw.lower_arms(rest, s, dest));
                self.push(Stmt::If(If {
                    cond,
                    then_block,
                    else_block,
                }));
            }
        }
    }

    fn lower_named_or_stmt(&mut self, e: &Expr, dest: Option<VarId>) {
        match dest {
            Some(d) => {
                if let Expr::Block(b) = e {
                    self.lower_stmts(&b.block.stmts, false, Some(BindAs::Into(d)));
                } else {
                    self.lower_named(e, Some(BindAs::Into(d)));
                }
            }
            None => {
                if let Expr::Block(b) = e {
                    self.lower_stmts(&b.block.stmts, false, None);
                } else {
                    self.lower_stmt_expr(e);
                }
            }
        }
    }

    /// The test of a `match` pattern on an integer, `None` when it always matches.
    fn pattern_test(&mut self, pat: &Pat, s: &Operand) -> Option<Option<Operand>> {
        let cmp = |lw: &mut Self, op: TokenStream, rhs: TokenStream| -> Operand {
            let p = Pending {
                op: Op::NonDiff,
                form: Form::Infix(op),
                args: vec![
                    s.clone(),
                    Operand::Const(Constant {
                        tokens: rhs,
                        atomic: false,
                        int: None,
                    }),
                ],
                what: String::new(),
                origin: TokenStream::new(),
            };
            Operand::Var(lw.bind_pending(p, None))
        };
        match pat {
            Pat::Wild(_) => Some(None),
            Pat::Lit(l) => Some(Some(cmp(self, quote!(==), l.to_token_stream()))),
            Pat::Range(r) => {
                let (Some(lo), Some(hi)) = (&r.start, &r.end) else {
                    self.cx.error_spanned_by(
                        r,
                        unsupported("open-ended range patterns", "write both bounds (`1..=5`)"),
                    );
                    return None;
                };
                let upper = match r.limits {
                    syn::RangeLimits::Closed(_) => quote!(<=),
                    syn::RangeLimits::HalfOpen(_) => quote!(<),
                };
                let a = cmp(self, quote!(>=), lo.to_token_stream());
                let b = cmp(self, upper, hi.to_token_stream());
                let p = Pending {
                    op: Op::NonDiff,
                    form: Form::Infix(quote!(&)),
                    args: vec![a, b],
                    what: String::new(),
                    origin: TokenStream::new(),
                };
                Some(Some(Operand::Var(self.bind_pending(p, None))))
            }
            Pat::Or(o) => {
                let mut acc: Option<Operand> = None;
                for case in &o.cases {
                    match self.pattern_test(case, s)? {
                        None => return Some(None),
                        Some(t) => {
                            acc = Some(match acc {
                                None => t,
                                Some(prev) => {
                                    let p = Pending {
                                        op: Op::NonDiff,
                                        form: Form::Infix(quote!(|)),
                                        args: vec![prev, t],
                                        what: String::new(),
                                        origin: TokenStream::new(),
                                    };
                                    Operand::Var(self.bind_pending(p, None))
                                }
                            });
                        }
                    }
                }
                Some(acc)
            }
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => {
                // A binding arm: `n => ...` names the scrutinee.
                if let Operand::Var(v) = s {
                    self.bind(&pi.ident, Some(*v), None);
                }
                Some(None)
            }
            Pat::Paren(p) => self.pattern_test(&p.pat, s),
            other => {
                self.cx.error_spanned_by(
                    other,
                    unsupported(
                        "this `match` pattern",
                        "match integers against literals, ranges (`1..=5`), `|` and `_`",
                    ),
                );
                None
            }
        }
    }

    fn loop_label(label: &Option<syn::Label>) -> Option<String> {
        label.as_ref().map(|l| l.name.ident.to_string())
    }

    /// Lowers a loop body into a block with this loop's context pushed.
    fn loop_body(
        &mut self,
        label: Option<String>,
        prologue: impl FnOnce(&mut Self),
        body: &[syn::Stmt],
    ) -> (Block, Option<VarId>, Option<VarId>) {
        self.loops.push(LoopCtx {
            label,
            exit: None,
            brk: None,
        });
        let mut block = self.region_block(|lw| {
            prologue(lw);
            lw.lower_stmts(body, false, None);
        });
        let ctx = self.loops.pop().expect("pushed above");
        if let Some(exit) = ctx.exit {
            // Each iteration starts with its exit flag cleared.
            let saved = std::mem::take(&mut self.cur);
            self.assign_const(exit, quote!(false));
            let mut reset = std::mem::replace(&mut self.cur, saved);
            reset.append(&mut block.stmts);
            block.stmts = reset;
        }
        if let Some(brk) = ctx.brk {
            block.stmts.push(Stmt::BreakIf(brk));
        }
        (block, ctx.exit, ctx.brk)
    }

    fn push_loop(&mut self, head: LoopHead, body: Block, brk: Option<VarId>) {
        if let Some(brk) = brk {
            self.assign_const(brk, quote!(false));
        }
        let counter = self.internal("iters", Kind::Other);
        self.vars[counter.0].internal = false;
        self.push(Stmt::Loop(Loop {
            head,
            counter,
            body,
        }));
    }

    fn lower_for(&mut self, f: &syn::ExprForLoop) {
        let label = Self::loop_label(&f.label);
        // Iteration over the elements of a float vector becomes iteration
        // over indices, so each element's adjoint has a place to go.
        if let Some((roots, binds)) = self.slice_iteration(&f.expr, &f.pat) {
            let Some(len) = self.length_of(&roots) else {
                return;
            };
            let k = self.names.fresh("k");
            let kvar = self.new_var(k, None, Kind::Other, false);
            let range = IterSpec::Range {
                start: Operand::Const(Constant {
                    tokens: quote!(0),
                    atomic: true,
                    int: Some(0),
                }),
                end: len,
                inclusive: false,
                rev: false,
                step: None,
            };
            let (body, _, brk) = self.loop_body(
                label,
                |lw| {
                    for (ident, source) in &binds {
                        match source {
                            Source::Index => lw.bind(ident, Some(kvar), None),
                            Source::Element(root) => {
                                let p = Pending {
                                    op: Op::Index,
                                    form: Form::Index,
                                    args: vec![Operand::Var(*root), Operand::Var(kvar)],
                                    what: "indexing".into(),
                                    origin: TokenStream::new(),
                                };
                                let v = lw.bind_pending(p, Some(BindAs::User(ident, None)));
                                lw.bind(ident, Some(v), None);
                            }
                        }
                    }
                },
                &f.body.stmts,
            );
            self.push_loop(
                LoopHead::For {
                    var: Some(kvar),
                    iter: range,
                },
                body,
                brk,
            );
            return;
        }
        let Some(iter) = self.lower_iter(&f.expr) else {
            return;
        };
        let var = match &*f.pat {
            Pat::Ident(pi) if pi.subpat.is_none() && pi.by_ref.is_none() => Some(pi.ident.clone()),
            Pat::Wild(_) => None,
            other => {
                self.cx.error_spanned_by(
                    other,
                    unsupported(
                        "this loop pattern",
                        "bind the loop variable to a name (`for i in 0..n`, `for x in xs.iter()`, `for (i, x) in xs.iter().enumerate()`)",
                    ),
                );
                return;
            }
        };
        let var = var.map(|ident| {
            let emitted = self.names.user_binding(&ident);
            (ident, self.new_var(emitted, None, Kind::Other, false))
        });
        let (body, _, brk) = self.loop_body(
            label,
            |lw| {
                if let Some((ident, v)) = &var {
                    lw.bind(ident, Some(*v), None);
                }
            },
            &f.body.stmts,
        );
        self.push_loop(
            LoopHead::For {
                var: var.map(|(_, v)| v),
                iter,
            },
            body,
            brk,
        );
    }

    /// A loop's iterator: a range the reverse sweep can regenerate, or
    /// the user's expression with variables renamed.
    fn lower_iter(&mut self, e: &Expr) -> Option<IterSpec> {
        if let Some(spec) = self.range_spec(e, false, None) {
            return spec;
        }
        let mut renamed = e.clone();
        let mut r = Renamer { lw: self, ok: true };
        syn::visit_mut::VisitMut::visit_expr_mut(&mut r, &mut renamed);
        r.ok.then(|| IterSpec::Tokens(renamed.to_token_stream()))
    }

    /// `a..b`, `a..=b`, with `.rev()` and/or `.step_by(k)` applied; `None`
    /// if `e` is not of that shape.
    fn range_spec(&mut self, e: &Expr, rev: bool, step: Option<&Expr>) -> Option<Option<IterSpec>> {
        match e {
            Expr::Paren(p) => self.range_spec(&p.expr, rev, step),
            Expr::Range(r) => {
                let (Some(s), Some(t)) = (&r.start, &r.end) else {
                    return None;
                };
                let start = self.lower_operand(s);
                let end = self.lower_operand(t);
                let step = step.map(|k| self.lower_operand(k));
                Some((|| {
                    Some(IterSpec::Range {
                        start: start?,
                        end: end?,
                        inclusive: matches!(r.limits, syn::RangeLimits::Closed(_)),
                        rev,
                        step: match step {
                            Some(k) => Some(k?),
                            None => None,
                        },
                    })
                })())
            }
            Expr::MethodCall(m)
                if m.method == "rev" && m.args.is_empty() && !rev && step.is_none() =>
            {
                self.range_spec(&m.receiver, true, None)
            }
            // `(a..b).step_by(k)`; a reversed stepped range is left to the
            // general case (its first element depends on the length).
            Expr::MethodCall(m)
                if m.method == "step_by" && m.args.len() == 1 && step.is_none() && !rev =>
            {
                match &*m.receiver {
                    Expr::Paren(_) | Expr::Range(_) => {
                        self.range_spec(&m.receiver, false, Some(&m.args[0]))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// `min` of the lengths of the vectors iterated together.
    fn length_of(&mut self, roots: &[VarId]) -> Option<Operand> {
        let mut len: Option<Operand> = None;
        for r in roots {
            let l = Operand::Var(self.bind_pending(
                Pending {
                    op: Op::NonDiff,
                    form: Form::Method {
                        name: Ident::new("len", Span::call_site()),
                        turbofish: None,
                    },
                    args: vec![Operand::Var(*r)],
                    what: String::new(),
                    origin: TokenStream::new(),
                },
                None,
            ));
            len = Some(match len {
                None => l,
                Some(prev) => Operand::Var(self.bind_pending(
                    Pending {
                        op: Op::NonDiff,
                        form: Form::Method {
                            name: Ident::new("min", Span::call_site()),
                            turbofish: None,
                        },
                        args: vec![prev, l],
                        what: String::new(),
                        origin: TokenStream::new(),
                    },
                    None,
                )),
            });
        }
        len
    }

    /// Recognises `for PAT in ITER` over float vectors: `x`, `&x`,
    /// `x.iter()` (`.copied()`, `.cloned()`), `.enumerate()`, `.zip(...)`.
    /// Returns the vectors and what each pattern name binds.
    fn slice_iteration(&self, iter: &Expr, pat: &Pat) -> Option<SliceLoop> {
        let shape = self.iter_shape(iter)?;
        let mut binds = Vec::new();
        if !self.bind_shape(&shape, pat, &mut binds) {
            return None;
        }
        let mut roots = Vec::new();
        shape.roots(&mut roots);
        Some((roots, binds))
    }

    fn iter_shape(&self, e: &Expr) -> Option<IterShape> {
        match e {
            Expr::Paren(p) => self.iter_shape(&p.expr),
            Expr::Reference(r) => self.iter_shape(&r.expr),
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let v = self.lookup(&id.to_string())?.var?;
                (self.vars[v.0].kind == Kind::Vector).then_some(IterShape::Elems(v))
            }
            Expr::MethodCall(m) => {
                let name = m.method.to_string();
                match (name.as_str(), m.args.len()) {
                    ("iter" | "into_iter" | "copied" | "cloned", 0) => self.iter_shape(&m.receiver),
                    ("enumerate", 0) => Some(IterShape::Enumerate(Box::new(
                        self.iter_shape(&m.receiver)?,
                    ))),
                    ("zip", 1) => Some(IterShape::Zip(
                        Box::new(self.iter_shape(&m.receiver)?),
                        Box::new(self.iter_shape(&m.args[0])?),
                    )),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn bind_shape(&self, shape: &IterShape, pat: &Pat, out: &mut Vec<(Ident, Source)>) -> bool {
        let pat = match pat {
            Pat::Reference(r) => &*r.pat,
            Pat::Paren(p) => &*p.pat,
            p => p,
        };
        match (shape, pat) {
            (_, Pat::Wild(_)) => true,
            (IterShape::Elems(v), Pat::Ident(pi)) if pi.subpat.is_none() => {
                out.push((pi.ident.clone(), Source::Element(*v)));
                true
            }
            (IterShape::Enumerate(inner), Pat::Tuple(t)) if t.elems.len() == 2 => {
                let ok = match &t.elems[0] {
                    Pat::Ident(pi) => {
                        out.push((pi.ident.clone(), Source::Index));
                        true
                    }
                    Pat::Wild(_) => true,
                    _ => false,
                };
                ok && self.bind_shape(inner, &t.elems[1], out)
            }
            (IterShape::Zip(a, b), Pat::Tuple(t)) if t.elems.len() == 2 => {
                self.bind_shape(a, &t.elems[0], out) && self.bind_shape(b, &t.elems[1], out)
            }
            _ => false,
        }
    }

    fn lower_while(&mut self, w: &syn::ExprWhile) {
        let label = Self::loop_label(&w.label);
        // `while c { body }` is `loop { if c { body } else { break } }`.
        self.loops.push(LoopCtx {
            label,
            exit: None,
            brk: None,
        });
        let li = self.loops.len() - 1;
        let brk = self.loop_flag(li, true);
        let ctx = self.loops.pop().expect("pushed above");
        let cond_expr = &w.cond;
        let stmts = &w.body.stmts;
        let (mut body, exit, _) = self.loop_body(
            ctx.label.clone(),
            |lw| {
                let li = lw.loops.len() - 1;
                lw.loops[li].brk = Some(brk);
                let Some(c) = lw.lower_cond(cond_expr) else {
                    return;
                };
                let then_block = lw.region_block(|lw| {
                    lw.lower_stmts(stmts, false, None);
                });
                let else_block = lw.region_block(|lw| lw.assign_const(brk, quote!(true)));
                lw.push(Stmt::If(If {
                    cond: c,
                    then_block,
                    else_block,
                }));
            },
            &[],
        );
        let _ = exit;
        if !matches!(body.stmts.last(), Some(Stmt::BreakIf(_))) {
            body.stmts.push(Stmt::BreakIf(brk));
        }
        self.push_loop(LoopHead::Infinite, body, Some(brk));
    }

    fn lower_loop(&mut self, l: &syn::ExprLoop) {
        let label = Self::loop_label(&l.label);
        let (body, _, brk) = self.loop_body(label, |_| {}, &l.body.stmts);
        if brk.is_none() {
            self.cx.error_spanned_by(
                l,
                unsupported(
                    "a `loop` without `break`",
                    "end the loop with `break` (or `return`)",
                ),
            );
            return;
        }
        self.push_loop(LoopHead::Infinite, body, brk);
    }

    /// The loop a `break`/`continue` targets.
    fn target_loop(&self, label: &Option<syn::Lifetime>, at: &dyn ToTokens) -> Option<usize> {
        let found = match label {
            None => self.loops.len().checked_sub(1),
            Some(l) => {
                let name = l.ident.to_string();
                self.loops
                    .iter()
                    .rposition(|c| c.label.as_deref() == Some(name.as_str()))
            }
        };
        if found.is_none() {
            self.cx
                .error_spanned_by(at, "#[grad]: `break`/`continue` outside a loop");
        }
        found
    }

    fn loop_flag(&mut self, li: usize, brk: bool) -> VarId {
        let slot = if brk {
            self.loops[li].brk
        } else {
            self.loops[li].exit
        };
        if let Some(v) = slot {
            return v;
        }
        let v = self.internal(if brk { "stop" } else { "skip" }, Kind::Other);
        if brk {
            self.loops[li].brk = Some(v);
        } else {
            self.loops[li].exit = Some(v);
        }
        v
    }

    /// Sets the flags that leave every loop from the innermost out to `target`
    /// (`continue` leaves `target` running, `break` stops it too).
    fn leave_loops(&mut self, target: usize, stop_target: bool) {
        for li in (target..self.loops.len()).rev() {
            let exit = self.loop_flag(li, false);
            self.assign_const(exit, quote!(true));
            if li > target || stop_target {
                let brk = self.loop_flag(li, true);
                self.assign_const(brk, quote!(true));
            }
        }
    }

    fn lower_continue(&mut self, c: &syn::ExprContinue) {
        if let Some(t) = self.target_loop(&c.label, c) {
            self.leave_loops(t, false);
            self.exits.push(t as i64);
        }
    }

    fn lower_break(&mut self, b: &syn::ExprBreak) {
        if let Some(e) = &b.expr {
            self.cx.error_spanned_by(
                e,
                unsupported(
                    "`break` with a value",
                    "assign the value to a variable, then `break`",
                ),
            );
            return;
        }
        if let Some(t) = self.target_loop(&b.label, b) {
            self.leave_loops(t, true);
            self.exits.push(t as i64);
        }
    }

    fn lower_return(&mut self, r: &syn::ExprReturn) {
        let Some(ctx) = self.ret.as_ref().map(|c| (c.value, c.returned)) else {
            self.cx
                .error_spanned_by(r, "#[grad]: `return` here is not supported");
            return;
        };
        let Some(e) = &r.expr else {
            self.cx
                .error_spanned_by(r, "#[grad]: `return` needs the value to return");
            return;
        };
        self.lower_named(e, Some(BindAs::Into(ctx.0)));
        self.assign_const(ctx.1, quote!(true));
        if !self.loops.is_empty() {
            self.leave_loops(0, true);
        }
        self.exits.push(-1);
    }

    // ----- expressions --------------------------------------------------

    fn lower_value(&mut self, e: &Expr) -> Option<Value> {
        // Only an operation without a rule can be reported later, so only it
        // keeps its source (copying every subexpression would be quadratic).
        let pending = |op: Op, form, args, what: &str| {
            Some(Value::Pending(Pending {
                op,
                form,
                args,
                what: what.to_string(),
                origin: if op == Op::Opaque {
                    e.to_token_stream()
                } else {
                    TokenStream::new()
                },
            }))
        };
        match e {
            Expr::Lit(l) => Some(Value::Operand(Operand::Const(Constant {
                tokens: l.to_token_stream(),
                atomic: true,
                int: int_value(&l.lit),
            }))),
            Expr::Path(p) => {
                if let Some(id) = p.path.get_ident() {
                    if p.qself.is_none() {
                        if let Some(b) = self.lookup(&id.to_string()) {
                            return match b.var {
                                Some(v) => Some(Value::Operand(Operand::Var(v))),
                                None => {
                                    self.cx.error_spanned_by(
                                        p,
                                        format!("`{id}` is used before it is assigned"),
                                    );
                                    None
                                }
                            };
                        }
                    }
                }
                // A constant: `PI`, `f64::EPSILON`, a `const` item.
                Some(Value::Operand(Operand::Const(Constant {
                    tokens: p.to_token_stream(),
                    atomic: true,
                    int: None,
                })))
            }
            Expr::Paren(p) => self.lower_value(&p.expr),
            Expr::Group(g) => self.lower_value(&g.expr),
            Expr::Unary(u) => match &u.op {
                UnOp::Neg(_) => {
                    if let Expr::Lit(l) = &*u.expr {
                        return Some(Value::Operand(Operand::Const(Constant {
                            tokens: e.to_token_stream(),
                            atomic: false,
                            int: int_value(&l.lit).map(|v| -v),
                        })));
                    }
                    let a = self.lower_operand(&u.expr)?;
                    pending(
                        Op::Prim(Prim::Neg),
                        Form::Prefix(quote!(-)),
                        vec![a],
                        "negation",
                    )
                }
                UnOp::Not(t) => {
                    let a = self.lower_operand(&u.expr)?;
                    pending(
                        Op::NonDiff,
                        Form::Prefix(t.to_token_stream()),
                        vec![a],
                        "`!`",
                    )
                }
                // `*x` of a loop element: elements are bound by value.
                UnOp::Deref(_) => self.lower_value(&u.expr),
                _ => {
                    self.cx.error_spanned_by(
                        e,
                        unsupported("this operator", "use arithmetic operators"),
                    );
                    None
                }
            },
            Expr::Binary(b) => {
                if compound_op(&b.op).is_some() {
                    self.cx.error_spanned_by(
                        e,
                        unsupported(
                            "a compound assignment inside an expression",
                            "write `x += ...;` as its own statement",
                        ),
                    );
                    return None;
                }
                if matches!(b.op, BinOp::And(_) | BinOp::Or(_)) {
                    return self.lower_cond(e).map(Value::Operand);
                }
                let l = self.lower_operand(&b.left);
                let r = self.lower_operand(&b.right);
                let (l, r) = (l?, r?);
                let op = binary_op(&b.op);
                pending(
                    op,
                    Form::Infix(b.op.to_token_stream()),
                    vec![l, r],
                    "operator",
                )
            }
            Expr::MethodCall(m) => {
                let recv = self.lower_operand(&m.receiver);
                let args = self.lower_args(&m.args);
                let (recv, args) = (recv?, args?);
                let mut all = vec![recv];
                all.extend(args);
                let name = m.method.to_string();
                let vector = self.kind(&all[0]) == Kind::Vector;
                let op = match rules::method(&name, all.len()) {
                    _ if vector && (name == "to_vec" || name == "clone") && all.len() == 1 => {
                        Op::Prim(Prim::Copy)
                    }
                    Known::Prim(p) => Op::Prim(p),
                    Known::NonDiff => Op::NonDiff,
                    Known::Unknown => Op::Opaque,
                };
                let what = match rules::method_arity(&name) {
                    Some(k) if op == Op::Opaque => format!(
                        "`.{name}()` with {} argument(s) (the float method takes {})",
                        all.len() - 1,
                        k - 1
                    ),
                    _ => format!("the method `.{name}()`"),
                };
                let form = Form::Method {
                    name: m.method.clone(),
                    turbofish: m.turbofish.as_ref().map(|t| t.to_token_stream()),
                };
                pending(op, form, all, &what)
            }
            Expr::Call(c) => {
                let Expr::Path(fp) = &*c.func else {
                    self.cx.error_spanned_by(
                        &c.func,
                        unsupported(
                            "calling this expression",
                            "call a function or method by its name",
                        ),
                    );
                    return None;
                };
                let args = self.lower_args(&c.args)?;
                let op = call_op(&fp.path, args.len());
                let what = format!("the function `{}`", path_string(&fp.path));
                pending(op, Form::Call(fp.to_token_stream()), args, &what)
            }
            Expr::Cast(c) => {
                let a = self.lower_operand(&c.expr)?;
                let op = if crate::signature::float_of(&c.ty).is_some() {
                    Op::Prim(Prim::CastFloat)
                } else {
                    Op::NonDiff
                };
                pending(op, Form::Cast(c.ty.clone()), vec![a], "cast")
            }
            Expr::Index(ix) => {
                if matches!(&*ix.index, Expr::Range(_)) {
                    self.cx.error_spanned_by(
                        e,
                        unsupported(
                            "sub-slices (`x[a..b]`)",
                            "index single elements (`x[i]`) in a loop",
                        ),
                    );
                    return None;
                }
                let base = self.lower_operand(&ix.expr);
                let index = self.lower_operand(&ix.index);
                let (base, index) = (base?, index?);
                Some(Value::Pending(index_pending_ops(base, index, ix)))
            }
            Expr::Range(r) => {
                let empty = || {
                    Operand::Const(Constant {
                        tokens: TokenStream::new(),
                        atomic: true,
                        int: None,
                    })
                };
                let start = match &r.start {
                    Some(s) => self.lower_operand(s)?,
                    None => empty(),
                };
                let end = match &r.end {
                    Some(s) => self.lower_operand(s)?,
                    None => empty(),
                };
                let inclusive = matches!(r.limits, syn::RangeLimits::Closed(_));
                pending(
                    Op::NonDiff,
                    Form::Range { inclusive },
                    vec![start, end],
                    "range",
                )
            }
            Expr::Repeat(r) => {
                let v = self.lower_operand(&r.expr);
                let n = self.lower_operand(&r.len);
                let (v, n) = (v?, n?);
                pending(
                    Op::VecFill,
                    Form::VecFill { array: true },
                    vec![v, n],
                    "array",
                )
            }
            Expr::Array(a) => {
                let args = self.lower_args(&a.elems)?;
                pending(Op::List, Form::List { vec: false }, args, "array")
            }
            Expr::Macro(m) if m.mac.path.is_ident("vec") => {
                let parsed = m.mac.parse_body_with(|input: syn::parse::ParseStream| {
                    let v: Expr = input.parse()?;
                    input.parse::<syn::Token![;]>()?;
                    let n: Expr = input.parse()?;
                    Ok((v, n))
                });
                if parsed.is_err() {
                    let list = m.mac.parse_body_with(
                        syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated,
                    );
                    if let Ok(items) = list {
                        let args = self.lower_args(&items)?;
                        return pending(Op::List, Form::List { vec: true }, args, "`vec!`");
                    }
                }
                match parsed {
                    Ok((v, n)) => {
                        let v = self.lower_operand(&v);
                        let n = self.lower_operand(&n);
                        let (v, n) = (v?, n?);
                        pending(
                            Op::VecFill,
                            Form::VecFill { array: false },
                            vec![v, n],
                            "`vec!`",
                        )
                    }
                    Err(_) => {
                        self.cx.error_spanned_by(
                            e,
                            unsupported(
                                "this form of `vec!`",
                                "create vectors with `vec![value; n]` or `x.to_vec()`",
                            ),
                        );
                        None
                    }
                }
            }
            Expr::Macro(m) => {
                self.cx.error_spanned_by(e, macro_message(&m.mac));
                None
            }
            Expr::Block(b) if b.label.is_none() => {
                let op = self.lower_block(&b.block, None)?;
                Some(Value::Operand(op))
            }
            Expr::If(_) | Expr::Match(_) => {
                let v = self.internal("value", Kind::Scalar);
                self.lower_named(e, Some(BindAs::Into(v)))
                    .map(Value::Operand)
            }
            _ => {
                let (what, instead) = describe_unsupported(e);
                self.cx.error_spanned_by(e, unsupported(what, instead));
                None
            }
        }
    }
}

/// Renames local variables in a constant expression copied verbatim (a
/// loop's iterator), so it refers to the current version of each.
struct Renamer<'l, 'a> {
    lw: &'l mut Lowerer<'a>,
    ok: bool,
}

impl syn::visit_mut::VisitMut for Renamer<'_, '_> {
    fn visit_expr_mut(&mut self, e: &mut Expr) {
        if let Expr::Path(p) = e {
            if let Some(id) = p.path.get_ident() {
                if let Some(b) = self.lw.lookup(&id.to_string()) {
                    match b.var {
                        Some(v) => {
                            let ident = self.lw.vars[v.0].ident.clone();
                            *e = syn::parse_quote!(#ident);
                        }
                        None => {
                            self.lw.cx.error_spanned_by(
                                &*p,
                                format!("`{id}` is used before it is assigned"),
                            );
                            self.ok = false;
                        }
                    }
                }
            }
            return;
        }
        if let Expr::Macro(m) = e {
            self.lw.cx.error_spanned_by(&*m, macro_message(&m.mac));
            self.ok = false;
            return;
        }
        syn::visit_mut::visit_expr_mut(self, e);
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

/// How a `for` loop over vectors is iterated.
enum IterShape {
    Elems(VarId),
    Enumerate(Box<IterShape>),
    Zip(Box<IterShape>, Box<IterShape>),
}

impl IterShape {
    fn roots(&self, out: &mut Vec<VarId>) {
        match self {
            IterShape::Elems(v) => out.push(*v),
            IterShape::Enumerate(i) => i.roots(out),
            IterShape::Zip(a, b) => {
                a.roots(out);
                b.roots(out);
            }
        }
    }
}

/// The vectors a `for` loop iterates over, and what each pattern name binds.
type SliceLoop = (Vec<VarId>, Vec<(Ident, Source)>);

/// What a loop pattern name is bound to.
enum Source {
    Index,
    Element(VarId),
}

fn index_pending(vec: VarId, index: Operand, ix: &syn::ExprIndex) -> Pending {
    index_pending_ops(Operand::Var(vec), index, ix)
}

fn index_pending_ops(base: Operand, index: Operand, _ix: &syn::ExprIndex) -> Pending {
    Pending {
        op: Op::Index,
        form: Form::Index,
        args: vec![base, index],
        what: "indexing".into(),
        origin: TokenStream::new(),
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

/// An operation over constants only, written inline rather than bound to a
/// temporary: `2.0 * PI`, `-1.0`, `3 as f64`. Calls stay bound (they may be
/// costly and the backward pass may read the value again).
fn fold_constant(p: &Pending) -> Option<Constant> {
    if p.op == Op::Opaque || !p.args.iter().all(|a| matches!(a, Operand::Const(_))) {
        return None;
    }
    let arg = |i: usize| match &p.args[i] {
        Operand::Const(c) => atomic_tokens(c),
        Operand::Var(_) | Operand::Ref(_) => unreachable!("checked all constant"),
    };
    let tokens = match &p.form {
        Form::Infix(op) => {
            let (a, b) = (arg(0), arg(1));
            quote!(#a #op #b)
        }
        Form::Prefix(op) => {
            let a = arg(0);
            quote!(#op #a)
        }
        Form::Cast(ty) => {
            let a = arg(0);
            quote!(#a as #ty)
        }
        Form::Range { inclusive } => {
            let (a, b) = (arg(0), arg(1));
            if *inclusive {
                quote!(#a..=#b)
            } else {
                quote!(#a..#b)
            }
        }
        _ => return None,
    };
    Some(Constant {
        tokens,
        atomic: false,
        int: None,
    })
}

/// The tokens of a constant, parenthesised unless they stand alone.
pub fn atomic_tokens(c: &Constant) -> TokenStream {
    let t = &c.tokens;
    if c.atomic {
        t.clone()
    } else {
        quote!((#t))
    }
}

fn int_value(lit: &Lit) -> Option<i64> {
    match lit {
        Lit::Int(i) => i.base10_parse().ok(),
        _ => None,
    }
}

fn binary_op(op: &BinOp) -> Op {
    match op {
        BinOp::Add(_) => Op::Prim(Prim::Add),
        BinOp::Sub(_) => Op::Prim(Prim::Sub),
        BinOp::Mul(_) => Op::Prim(Prim::Mul),
        BinOp::Div(_) => Op::Prim(Prim::Div),
        BinOp::Rem(_) => Op::Prim(Prim::Rem),
        // Comparisons, logic, bit operations: bool or integer results.
        _ => Op::NonDiff,
    }
}

/// For `x op= e`: the operation and the binary operator token it stands for.
fn compound_op(op: &BinOp) -> Option<(Op, TokenStream)> {
    Some(match op {
        BinOp::AddAssign(_) => (Op::Prim(Prim::Add), quote!(+)),
        BinOp::SubAssign(_) => (Op::Prim(Prim::Sub), quote!(-)),
        BinOp::MulAssign(_) => (Op::Prim(Prim::Mul), quote!(*)),
        BinOp::DivAssign(_) => (Op::Prim(Prim::Div), quote!(/)),
        BinOp::RemAssign(_) => (Op::Prim(Prim::Rem), quote!(%)),
        BinOp::BitXorAssign(_) => (Op::NonDiff, quote!(^)),
        BinOp::BitAndAssign(_) => (Op::NonDiff, quote!(&)),
        BinOp::BitOrAssign(_) => (Op::NonDiff, quote!(|)),
        BinOp::ShlAssign(_) => (Op::NonDiff, quote!(<<)),
        BinOp::ShrAssign(_) => (Op::NonDiff, quote!(>>)),
        _ => return None,
    })
}

/// What a call `path(args)` is: a runtime activation (`sigmoid(x)`), a float
/// method called by path (`f64::max(a, b)`), a float conversion, or a call
/// of another differentiable function (through its `_vjp`).
fn call_op(path: &syn::Path, nargs: usize) -> Op {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let last = segs.last().map(String::as_str).unwrap_or("");
    if nargs == 1 {
        if let Some(p) = rules::runtime_fn(last) {
            let plain = segs.len() == 1
                || segs[0] == "autodiff"
                || (segs.len() == 3 && segs[1] == "runtime");
            if plain {
                return Op::Prim(p);
            }
        }
    }
    if segs.len() == 2 && (segs[0] == "f64" || segs[0] == "f32") {
        if last == "from" && nargs == 1 {
            return Op::Prim(Prim::CastFloat);
        }
        return match rules::method(last, nargs) {
            Known::Prim(p) => Op::Prim(p),
            Known::NonDiff => Op::NonDiff,
            Known::Unknown => Op::Opaque,
        };
    }
    Op::Call
}

fn path_string(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

fn macro_message(mac: &syn::Macro) -> String {
    let name = path_string(&mac.path);
    unsupported(
        &format!("macro invocations (`{name}!`) inside a differentiated function"),
        "the macro cannot see what a macro expands to; write the computation out, or move it to a function outside",
    )
}

fn describe_unsupported(e: &Expr) -> (&'static str, &'static str) {
    match e {
        Expr::Closure(_) => (
            "closures",
            "write the computation inline, or as a separate `#[grad]` function",
        ),
        Expr::Unsafe(_) => ("`unsafe` blocks", "differentiate safe code only"),
        Expr::Field(_) => ("field access", "pass the fields as separate parameters"),
        Expr::Tuple(_) => (
            "tuples",
            "return a single `f32`/`f64` value and bind each value with its own `let`",
        ),
        Expr::Array(_) | Expr::Repeat(_) => {
            ("array expressions", "build vectors with `vec![value; n]`")
        }
        Expr::Reference(_) => (
            "references (`&x`) here",
            "pass vectors to calls as `&x`; pass scalars by value",
        ),
        Expr::Try(_) => (
            "the `?` operator",
            "differentiate a function that returns the scalar itself",
        ),
        Expr::Struct(_) => ("struct expressions", "use scalar and vector variables"),
        Expr::Async(_) | Expr::Await(_) => ("`async`/`.await`", "differentiate synchronous code"),
        Expr::Assign(_) => (
            "an assignment inside an expression",
            "write `x = ...;` as its own statement",
        ),
        Expr::Return(_) => (
            "`return` inside an expression",
            "write `return value;` as its own statement",
        ),
        Expr::Let(_) => ("`let` expressions", "use a `let` statement"),
        Expr::Block(_) => ("labeled blocks", "use a plain block"),
        Expr::Const(_) => (
            "`const` blocks",
            "bind the constant with `let` or a `const` item",
        ),
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => {
            ("a loop used as a value", "write the loop as a statement")
        }
        Expr::Break(_) | Expr::Continue(_) => (
            "`break`/`continue` inside an expression",
            "write them as statements",
        ),
        _ => (
            "this expression",
            "write it with arithmetic, float methods and `let` bindings",
        ),
    }
}
