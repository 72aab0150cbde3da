//! Lowering: the function body (syn) to SSA (`ir`).
//!
//! Each operator, method or call becomes one instruction; nested expressions
//! get temporaries; `let`, reassignment and compound assignment create new
//! versions of the user's variable (shadowing included), scoped like Rust
//! blocks. The outermost operation of `let s0 = w0 * x0;` takes the user's
//! name, so the forward code reads like the source. Anything outside the
//! supported subset is reported at its span and lowering goes on, so one
//! compile shows every problem.

use crate::ctxt::Ctxt;
use crate::ir::{Constant, Form, Function, Instr, Op, Operand, Stmt, Var, VarId};
use crate::names::Names;
use crate::rules::{self, Known, Prim};
use crate::signature::Signature;
use proc_macro2::{Ident, TokenStream};
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
    body: Vec<Stmt>,
    scopes: Vec<HashMap<String, Binding>>,
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
        body: Vec::new(),
        scopes: vec![HashMap::new()],
    };
    let mut params = Vec::new();
    for p in &sig.params {
        let id = p.ident.as_ref().map(|ident| {
            let emitted = lw.names.user_binding(ident);
            let v = lw.new_var(emitted, Some(p.ty.clone()));
            lw.bind(ident, Some(v), None);
            v
        });
        params.push(id);
    }
    let ret = lw.lower_fn_body(&func.block);
    if cx.has_errors() {
        return None;
    }
    let ret = ret?;
    Some(Function {
        vars: lw.vars,
        params,
        body: lw.body,
        ret,
    })
}

fn unsupported(what: &str, instead: &str) -> String {
    format!("#[grad] does not support {what}: {instead}")
}

impl Lowerer<'_> {
    fn new_var(&mut self, ident: Ident, ty: Option<syn::Type>) -> VarId {
        self.vars.push(Var { ident, ty });
        VarId(self.vars.len() - 1)
    }

    fn bind(&mut self, ident: &Ident, var: Option<VarId>, ty: Option<syn::Type>) {
        self.scopes
            .last_mut()
            .expect("a scope is always open")
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
        self.scopes.iter().rev().find_map(|s| s.get(name))
    }

    fn lookup_mut(&mut self, name: &str) -> Option<&mut Binding> {
        self.scopes.iter_mut().rev().find_map(|s| s.get_mut(name))
    }

    fn lower_fn_body(&mut self, block: &syn::Block) -> Option<Operand> {
        let out = self.names.fresh("out");
        let tail = self.lower_stmts(&block.stmts, true, Some(BindAs::Fixed(out)));
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

    /// Lowers a statement list; returns the value of its tail expression.
    fn lower_stmts(
        &mut self,
        stmts: &[syn::Stmt],
        fn_body: bool,
        want: Option<BindAs>,
    ) -> Option<Operand> {
        let mut tail = None;
        for (idx, stmt) in stmts.iter().enumerate() {
            let last = idx + 1 == stmts.len();
            match stmt {
                syn::Stmt::Local(local) => self.lower_local(local),
                syn::Stmt::Item(item) => self.body.push(Stmt::Item(item.to_token_stream())),
                syn::Stmt::Macro(m) => self.cx.error_spanned_by(m, macro_message(&m.mac)),
                syn::Stmt::Expr(e, semi) => match e {
                    Expr::Return(r) => {
                        if !(last && fn_body) {
                            self.cx.error_spanned_by(
                                r,
                                unsupported(
                                    "early `return` in this version",
                                    "return only as the last statement of the function",
                                ),
                            );
                        } else if let Some(v) = &r.expr {
                            tail = self.lower_named(v, want.clone());
                        } else {
                            self.cx
                                .error_spanned_by(r, "#[grad]: `return` needs the value to return");
                        }
                    }
                    _ if last && semi.is_none() => tail = self.lower_named(e, want.clone()),
                    Expr::Assign(a) => self.lower_assign(a),
                    Expr::Binary(b) if compound_op(&b.op).is_some() => self.lower_compound(b),
                    _ => {
                        self.lower_value(e);
                    }
                },
            }
        }
        tail
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
                if let Some(op) =
                    self.lower_named(&init.expr, Some(BindAs::User(&ident, ty.clone())))
                {
                    let var = match op {
                        Operand::Var(v) => v,
                        Operand::Const(_) => {
                            unreachable!("a named lowering always binds a variable")
                        }
                    };
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

    /// The local variable an assignment writes, or an error.
    fn assign_target(&self, target: &Expr) -> Option<(Ident, Option<syn::Type>, Option<VarId>)> {
        if let Expr::Path(p) = target {
            if let Some(id) = p.path.get_ident() {
                if let Some(b) = self.lookup(&id.to_string()) {
                    return Some((b.ident.clone(), b.ty.clone(), b.var));
                }
            }
        }
        self.cx.error_spanned_by(
            target,
            unsupported(
                "assigning to this place",
                "assign only to local variables and parameters (`acc = ...`, `acc += ...`)",
            ),
        );
        None
    }

    fn rebind(&mut self, name: &Ident, var: VarId) {
        if let Some(b) = self.lookup_mut(&name.to_string()) {
            b.var = Some(var);
        }
    }

    fn lower_assign(&mut self, a: &syn::ExprAssign) {
        let Some((ident, ty, _)) = self.assign_target(&a.left) else {
            return;
        };
        if let Some(Operand::Var(v)) = self.lower_named(&a.right, Some(BindAs::User(&ident, ty))) {
            self.rebind(&ident, v);
        }
    }

    /// `x op= e` is `x = x op e`: for floats the two round identically.
    fn lower_compound(&mut self, b: &syn::ExprBinary) {
        let Some((ident, ty, current)) = self.assign_target(&b.left) else {
            return;
        };
        let Some(current) = current else {
            self.cx
                .error_spanned_by(&b.left, format!("`{ident}` is used before it is assigned"));
            return;
        };
        let (op, token) = compound_op(&b.op).expect("checked by the caller");
        let Some(rhs) = self.lower_operand(&b.right) else {
            return;
        };
        let pending = Pending {
            op,
            form: Form::Infix(token),
            args: vec![Operand::Var(current), rhs],
            what: String::new(),
            origin: TokenStream::new(),
        };
        let v = self.bind_pending(pending, Some(BindAs::User(&ident, ty)));
        self.rebind(&ident, v);
    }

    /// Lowers `e`; with `want`, the result is bound as it says (the
    /// outermost operation takes the name directly).
    fn lower_named(&mut self, e: &Expr, want: Option<BindAs>) -> Option<Operand> {
        let Some(want) = want else {
            return self.lower_operand(e);
        };
        // A block's tail takes the name itself.
        if let Expr::Block(b) = e {
            if b.label.is_none() && b.attrs.is_empty() {
                return self.lower_block(&b.block, Some(want));
            }
        }
        match (self.lower_value(e)?, want) {
            (Value::Pending(p), want) => Some(Operand::Var(self.bind_pending(p, Some(want)))),
            (Value::Operand(op), BindAs::User(ident, ty)) => Some(self.bind_copy(op, ident, ty)),
            (Value::Operand(op), BindAs::Fixed(_)) => Some(op),
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

    fn bind_pending(&mut self, p: Pending, want: Option<BindAs>) -> VarId {
        let (ident, ty) = match want {
            Some(BindAs::User(user, ty)) => (self.names.user_binding(user), ty),
            Some(BindAs::Fixed(name)) => (name, None),
            None => (self.names.temp(), None),
        };
        let dest = self.new_var(ident, ty);
        self.body.push(Stmt::Instr(Instr {
            dest,
            op: p.op,
            form: p.form,
            args: p.args,
            what: p.what,
            origin: p.origin,
        }));
        dest
    }

    /// Lowers `e` to an operand, binding any operation to a temporary.
    fn lower_operand(&mut self, e: &Expr) -> Option<Operand> {
        match self.lower_value(e)? {
            Value::Operand(op) => Some(op),
            Value::Pending(p) => match fold_constant(&p) {
                Some(c) => Some(Operand::Const(c)),
                None => Some(Operand::Var(self.bind_pending(p, None))),
            },
        }
    }

    fn lower_block(&mut self, block: &syn::Block, want: Option<BindAs>) -> Option<Operand> {
        self.scopes.push(HashMap::new());
        let tail = self.lower_stmts(&block.stmts, false, want);
        self.scopes.pop();
        if tail.is_none() && !self.cx.has_errors() {
            self.cx.error_spanned_by(
                block,
                "#[grad]: this block has no value; end it with an expression",
            );
        }
        tail
    }

    fn lower_args<'e>(&mut self, args: impl IntoIterator<Item = &'e Expr>) -> Option<Vec<Operand>> {
        let mut out = Vec::new();
        let mut ok = true;
        for a in args {
            match self.lower_operand(a) {
                Some(op) => out.push(op),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn lower_value(&mut self, e: &Expr) -> Option<Value> {
        let pending = |op, form, args, what: &str| {
            Some(Value::Pending(Pending {
                op,
                form,
                args,
                what: what.to_string(),
                origin: e.to_token_stream(),
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
                _ => {
                    self.cx.error_spanned_by(
                        e,
                        unsupported(
                            "dereferencing (`*x`)",
                            "take `f32`/`f64` parameters by value",
                        ),
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
                let op = match rules::method(&name, all.len()) {
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
            Expr::Macro(m) => {
                self.cx.error_spanned_by(e, macro_message(&m.mac));
                None
            }
            Expr::Block(b) if b.label.is_none() => {
                let op = self.lower_block(&b.block, None)?;
                Some(Value::Operand(op))
            }
            _ => {
                let (what, instead) = describe_unsupported(e);
                self.cx.error_spanned_by(e, unsupported(what, instead));
                None
            }
        }
    }
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
        Operand::Var(_) => unreachable!("checked all constant"),
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
/// method called by path (`f64::max(a, b)`), a float conversion, or unknown.
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
    Op::Opaque
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
        Expr::If(_) => ("`if` in this version", "branches are not differentiated yet; for kinks use `a.max(b)`, `a.min(b)`, `x.abs()` or `relu(x)`"),
        Expr::Match(_) => ("`match` in this version", "branches are not differentiated yet; compute the value without branching"),
        Expr::ForLoop(_) | Expr::While(_) | Expr::Loop(_) => ("loops in this version", "loops are not differentiated yet; unroll the computation into straight-line code"),
        Expr::Break(_) | Expr::Continue(_) => ("`break`/`continue`", "loops are not differentiated yet"),
        Expr::Closure(_) => ("closures", "write the computation inline, or as a separate function"),
        Expr::Unsafe(_) => ("`unsafe` blocks", "differentiate safe code only"),
        Expr::Index(_) => ("indexing in this version", "only `f32`/`f64` scalars are supported; pass the values as scalar parameters"),
        Expr::Field(_) => ("field access", "pass the fields as separate `f32`/`f64` parameters"),
        Expr::Tuple(_) => ("tuples", "return a single `f32`/`f64` value and bind each value with its own `let`"),
        Expr::Array(_) | Expr::Repeat(_) => ("arrays in this version", "use scalar variables"),
        Expr::Reference(_) => ("references (`&x`)", "pass `f32`/`f64` values by value"),
        Expr::Try(_) => ("the `?` operator", "differentiate a function that returns the scalar itself"),
        Expr::Range(_) => ("ranges", "ranges are only meaningful in loops, which are not supported yet"),
        Expr::Struct(_) => ("struct expressions", "use scalar variables"),
        Expr::Async(_) | Expr::Await(_) => ("`async`/`.await`", "differentiate synchronous code"),
        Expr::Assign(_) => ("an assignment inside an expression", "write `x = ...;` as its own statement"),
        Expr::Return(_) => ("`return` inside an expression", "return only as the last statement"),
        Expr::Let(_) => ("`let` expressions", "use a `let` statement"),
        Expr::Block(_) => ("labeled blocks", "use a plain block"),
        Expr::Const(_) => ("`const` blocks", "bind the constant with `let` or a `const` item"),
        _ => ("this expression", "write it with arithmetic, float methods and `let` bindings"),
    }
}
