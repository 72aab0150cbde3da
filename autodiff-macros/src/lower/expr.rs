//! Lowering of expressions: one instruction per operation, constants folded
//! inline, and the operator and call tables.

use super::*;

impl Lowerer<'_> {
    /// The vector `x` in `x.iter()` / `x.into_iter()` (`.copied()`, `.cloned()`).
    pub(super) fn summed_vector(&self, e: &Expr) -> Option<VarId> {
        match e {
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && ["iter", "into_iter", "copied", "cloned"]
                        .contains(&m.method.to_string().as_str()) =>
            {
                if let Expr::Path(p) = &*m.receiver {
                    let id = p.path.get_ident()?;
                    let v = self.lookup(&id.to_string())?.var?;
                    return (self.vars[v.0].kind == Kind::Vector).then_some(v);
                }
                self.summed_vector(&m.receiver)
            }
            _ => None,
        }
    }

    pub(super) fn lower_value(&mut self, e: &Expr) -> Option<Value> {
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
                                None if b.view.is_some() => {
                                    self.view_misused(p, id);
                                    None
                                }
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
            // `&t` of a tensor: every tensor operation borrows its operands.
            Expr::Reference(r) if r.mutability.is_none() => {
                let op = self.lower_operand(&r.expr)?;
                if self.kind(&op) == Kind::Tensor {
                    return Some(Value::Operand(op));
                }
                let (what, instead) = describe_unsupported(e);
                self.cx.error_spanned_by(e, unsupported(what, instead));
                None
            }
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
                    if self.kind(&a) == Kind::Tensor {
                        return Some(self.tensor_neg(a));
                    }
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
                if self.kind(&l) == Kind::Tensor || self.kind(&r) == Kind::Tensor {
                    return self.tensor_binary(e, &b.op, l, r);
                }
                let op = binary_op(&b.op);
                pending(
                    op,
                    Form::Infix(b.op.to_token_stream()),
                    vec![l, r],
                    "operator",
                )
            }
            // `x.iter().sum()` of a float vector.
            Expr::MethodCall(m)
                if m.method == "sum"
                    && m.args.is_empty()
                    && self.summed_vector(&m.receiver).is_some() =>
            {
                let v = self.summed_vector(&m.receiver).expect("checked");
                pending(
                    Op::Sum,
                    Form::IterSum {
                        turbofish: m.turbofish.as_ref().map(|t| t.to_token_stream()),
                    },
                    vec![Operand::Var(v)],
                    "sum",
                )
            }
            Expr::MethodCall(m)
                if m.method == "len"
                    && m.args.is_empty()
                    && self.view_of(&m.receiver).is_some() =>
            {
                Some(Value::Operand(
                    self.view_of(&m.receiver).expect("checked").len,
                ))
            }
            Expr::MethodCall(m) => {
                let recv = self.lower_operand(&m.receiver);
                let args = self.lower_args(&m.args);
                let (recv, args) = (recv?, args?);
                let mut all = vec![recv];
                all.extend(args);
                if self.kind(&all[0]) == Kind::Tensor {
                    return self.tensor_method(m, all);
                }
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
                let fp = self.callee_path(c)?;
                if let Some(v) = self.conv2d_call(c, &fp.path) {
                    return v;
                }
                let args = self.lower_call_args(&c.args)?;
                let name = fp.path.segments.last().map(|s| s.ident.to_string());
                if let Some(name) = name.filter(|n| crate::tensor_rules::is_function(n)) {
                    if args.iter().any(|a| self.kind(a) == Kind::Tensor) {
                        return self.tensor_function(c, &name, args);
                    }
                }
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
            Expr::Index(ix)
                if !matches!(&*ix.index, Expr::Range(_)) && self.view_of(&ix.expr).is_some() =>
            {
                let view = self.view_of(&ix.expr).expect("checked");
                let i = self.lower_operand(&ix.index)?;
                Some(Value::Pending(self.view_element(&view, i)))
            }
            Expr::Index(ix) => {
                if matches!(&*ix.index, Expr::Range(_)) {
                    self.cx.error_spanned_by(
                        e,
                        unsupported(
                            "sub-slices (`x[a..b]`) except bound by a `let` or passed to a call",
                            "bind it (`let r = &x[a..b];`) and index or loop over `r`, or pass `&x[a..b]` to the function that uses it",
                        ),
                    );
                    return None;
                }
                let base = self.lower_operand(&ix.expr);
                let index = self.lower_operand(&ix.index);
                let (base, index) = (base?, index?);
                if self.kind(&base) == Kind::Tensor {
                    self.cx.error_spanned_by(
                        e,
                        unsupported(
                            "indexing a tensor",
                            "reduce it with the tensor operations (`sum`, `mean`, `softmax_cross_entropy`, ...) and take the loss out with `.item()`",
                        ),
                    );
                    return None;
                }
                Some(Value::Pending(index_pending_ops(base, index)))
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

/// `vec[index]`.
pub(super) fn index_pending(vec: VarId, index: Operand) -> Pending {
    index_pending_ops(Operand::Var(vec), index)
}
pub(super) fn index_pending_ops(base: Operand, index: Operand) -> Pending {
    Pending {
        op: Op::Index,
        form: Form::Index,
        args: vec![base, index],
        what: "indexing".into(),
        origin: TokenStream::new(),
    }
}
/// An operation over constants only, written inline rather than bound to a
/// temporary: `2.0 * PI`, `-1.0`, `3 as f64`. Calls stay bound (they may be
/// costly and the backward pass may read the value again).
pub(super) fn fold_constant(p: &Pending) -> Option<Constant> {
    if p.op == Op::Opaque || !p.args.iter().all(|a| matches!(a, Operand::Const(_))) {
        return None;
    }
    let arg = |i: usize| match &p.args[i] {
        Operand::Const(c) => atomic_tokens(c),
        Operand::Var(_) | Operand::Ref(_) | Operand::Slice(..) => {
            unreachable!("checked all constant")
        }
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
pub(super) fn int_value(lit: &Lit) -> Option<i64> {
    match lit {
        Lit::Int(i) => i.base10_parse().ok(),
        _ => None,
    }
}
pub(super) fn binary_op(op: &BinOp) -> Op {
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
pub(super) fn compound_op(op: &BinOp) -> Option<(Op, TokenStream)> {
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
/// What a call `path(args)` is: a runtime activation (`sigmoid(x)`), the
/// identity without a derivative (`stop_gradient(x)`), a float
/// method called by path (`f64::max(a, b)`), a float conversion, or a call
/// of another differentiable function (through its `_vjp`).
pub(super) fn call_op(path: &syn::Path, nargs: usize) -> Op {
    let segs: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let last = segs.last().map(String::as_str).unwrap_or("");
    let plain =
        segs.len() == 1 || segs[0] == "autodiff" || (segs.len() == 3 && segs[1] == "runtime");
    if nargs == 1 && plain {
        if let Some(p) = rules::runtime_fn(last) {
            return Op::Prim(p);
        }
        if last == "stop_gradient" {
            return Op::NonDiff;
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
pub(super) fn path_string(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}
pub(super) fn macro_message(mac: &syn::Macro) -> String {
    let name = path_string(&mac.path);
    unsupported(
        &format!("macro invocations (`{name}!`) inside a differentiated function"),
        "the macro cannot see what a macro expands to; write the computation out, or move it to a function outside",
    )
}
pub(super) fn describe_unsupported(e: &Expr) -> (&'static str, &'static str) {
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
        Expr::Reference(r) if r.mutability.is_some() => (
            "`&mut` here",
            "a call writing into a vector stands as a statement of its own, `h(x, &mut v);`, and the code after it reads `v`",
        ),
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
/// The tokens of a constant, parenthesised unless they stand alone.
pub fn atomic_tokens(c: &Constant) -> TokenStream {
    let t = &c.tokens;
    if c.atomic {
        t.clone()
    } else {
        quote!((#t))
    }
}

impl Lowerer<'_> {
    /// The path a call names; anything else (`(f)(x)`, `v[0](x)`) is reported.
    pub(super) fn callee_path<'c>(&self, c: &'c syn::ExprCall) -> Option<&'c syn::ExprPath> {
        match &*c.func {
            Expr::Path(fp) => Some(fp),
            other => {
                self.cx.error_spanned_by(
                    other,
                    unsupported(
                        "calling this expression",
                        "call a function or method by its name",
                    ),
                );
                None
            }
        }
    }
}
