//! Lowering of branches, `match`, loops and exits (`break`, `continue`,
//! `return` become flags and guarded blocks: see the parent module).

use super::*;

impl Lowerer<'_> {
    /// The value of a condition, with `&&`/`||` short-circuiting as in Rust
    /// (the right side may index or divide only when the left allows it).
    pub(super) fn lower_cond(&mut self, e: &Expr) -> Option<Operand> {
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

    pub(super) fn lower_if(&mut self, i: &syn::ExprIf, want: Option<BindAs>) -> Option<Operand> {
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
    pub(super) fn branch_dest(&mut self, want: Option<&BindAs>) -> Option<VarId> {
        match want? {
            BindAs::Into(v) => Some(*v),
            _ => Some(self.internal("value", Kind::Scalar)),
        }
    }

    /// After a branch wrote its value into `dest`, binds it as `want` says.
    pub(super) fn finish_branch_value(
        &mut self,
        dest: Option<VarId>,
        want: Option<BindAs>,
    ) -> Option<Operand> {
        let dest = dest?;
        match want? {
            BindAs::Into(_) | BindAs::Fixed(_) => Some(Operand::Var(dest)),
            // A tensor is not copied: the location the branches wrote takes
            // the user's name (a scalar copy keeps the name in straight-line
            // SSA instead).
            BindAs::User(ident, _) if self.vars[dest.0].kind == Kind::Tensor => {
                self.vars[dest.0].ident = self.names.user_binding(ident);
                Some(Operand::Var(dest))
            }
            BindAs::User(ident, ty) => Some(self.bind_copy(Operand::Var(dest), ident, ty)),
        }
    }

    pub(super) fn lower_match(
        &mut self,
        m: &syn::ExprMatch,
        want: Option<BindAs>,
    ) -> Option<Operand> {
        let scrutinee = self.lower_operand(&m.expr)?;
        let dest = self.branch_dest(want.as_ref());
        self.lower_arms(&m.arms, &scrutinee, dest);
        self.finish_branch_value(dest, want)
    }

    pub(super) fn lower_arms(&mut self, arms: &[syn::Arm], s: &Operand, dest: Option<VarId>) {
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

    pub(super) fn lower_named_or_stmt(&mut self, e: &Expr, dest: Option<VarId>) {
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
    pub(super) fn pattern_test(&mut self, pat: &Pat, s: &Operand) -> Option<Option<Operand>> {
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

    pub(super) fn loop_label(label: &Option<syn::Label>) -> Option<String> {
        label.as_ref().map(|l| l.name.ident.to_string())
    }

    /// Lowers a loop body into a block with this loop's context pushed.
    pub(super) fn loop_body(
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

    pub(super) fn push_loop(&mut self, head: LoopHead, body: Block, brk: Option<VarId>) {
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

    pub(super) fn lower_for(&mut self, f: &syn::ExprForLoop) {
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
                                let p = match root {
                                    Root::Vector(v) => index_pending(*v, Operand::Var(kvar)),
                                    Root::View(view) => lw.view_visited(view, kvar),
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
    pub(super) fn lower_iter(&mut self, e: &Expr) -> Option<IterSpec> {
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
    pub(super) fn range_spec(
        &mut self,
        e: &Expr,
        rev: bool,
        step: Option<&Expr>,
    ) -> Option<Option<IterSpec>> {
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
    pub(super) fn length_of(&mut self, roots: &[Root]) -> Option<Operand> {
        let mut len: Option<Operand> = None;
        for r in roots {
            let l = match r {
                Root::View(view) => view.len.clone(),
                Root::Vector(v) => Operand::Var(self.bind_pending(
                    Pending {
                        op: Op::NonDiff,
                        form: Form::Method {
                            name: Ident::new("len", Span::call_site()),
                            turbofish: None,
                        },
                        args: vec![Operand::Var(*v)],
                        what: String::new(),
                        origin: TokenStream::new(),
                    },
                    None,
                )),
            };
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
    pub(super) fn slice_iteration(&self, iter: &Expr, pat: &Pat) -> Option<SliceLoop> {
        let shape = self.iter_shape(iter)?;
        let mut binds = Vec::new();
        if !self.bind_shape(&shape, pat, &mut binds) {
            return None;
        }
        let mut roots = Vec::new();
        shape.roots(&mut roots);
        Some((roots, binds))
    }

    pub(super) fn iter_shape(&self, e: &Expr) -> Option<IterShape> {
        match e {
            Expr::Paren(p) => self.iter_shape(&p.expr),
            Expr::Reference(r) => self.iter_shape(&r.expr),
            Expr::Path(p) => {
                let id = p.path.get_ident()?;
                let b = self.lookup(&id.to_string())?;
                if let Some(view) = &b.view {
                    return Some(IterShape::Elems(Root::View(view.clone())));
                }
                let v = b.var?;
                (self.vars[v.0].kind == Kind::Vector).then_some(IterShape::Elems(Root::Vector(v)))
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

    pub(super) fn bind_shape(
        &self,
        shape: &IterShape,
        pat: &Pat,
        out: &mut Vec<(Ident, Source)>,
    ) -> bool {
        let pat = match pat {
            Pat::Reference(r) => &*r.pat,
            Pat::Paren(p) => &*p.pat,
            p => p,
        };
        match (shape, pat) {
            (_, Pat::Wild(_)) => true,
            (IterShape::Elems(v), Pat::Ident(pi)) if pi.subpat.is_none() => {
                out.push((pi.ident.clone(), Source::Element(v.clone())));
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

    pub(super) fn lower_while(&mut self, w: &syn::ExprWhile) {
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

    pub(super) fn lower_loop(&mut self, l: &syn::ExprLoop) {
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
    pub(super) fn target_loop(
        &self,
        label: &Option<syn::Lifetime>,
        at: &dyn ToTokens,
    ) -> Option<usize> {
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

    pub(super) fn loop_flag(&mut self, li: usize, brk: bool) -> VarId {
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
    pub(super) fn leave_loops(&mut self, target: usize, stop_target: bool) {
        for li in (target..self.loops.len()).rev() {
            let exit = self.loop_flag(li, false);
            self.assign_const(exit, quote!(true));
            if li > target || stop_target {
                let brk = self.loop_flag(li, true);
                self.assign_const(brk, quote!(true));
            }
        }
    }

    pub(super) fn lower_continue(&mut self, c: &syn::ExprContinue) {
        if let Some(t) = self.target_loop(&c.label, c) {
            self.leave_loops(t, false);
            self.exits.push(t as i64);
        }
    }

    pub(super) fn lower_break(&mut self, b: &syn::ExprBreak) {
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

    pub(super) fn lower_return(&mut self, r: &syn::ExprReturn) {
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
}

/// Renames local variables in a constant expression copied verbatim (a
/// loop's iterator), so it refers to the current version of each.
pub(super) struct Renamer<'l, 'a> {
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
                        None if b.view.is_some() => {
                            self.lw.view_misused(&*p, id);
                            self.ok = false;
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
/// How a `for` loop over vectors is iterated.
pub(super) enum IterShape {
    Elems(Root),
    Enumerate(Box<IterShape>),
    Zip(Box<IterShape>, Box<IterShape>),
}
impl IterShape {
    fn roots(&self, out: &mut Vec<Root>) {
        match self {
            IterShape::Elems(v) => out.push(v.clone()),
            IterShape::Enumerate(i) => i.roots(out),
            IterShape::Zip(a, b) => {
                a.roots(out);
                b.roots(out);
            }
        }
    }
}
/// The vectors a `for` loop iterates over, and what each pattern name binds.
pub(super) type SliceLoop = (Vec<Root>, Vec<(Ident, Source)>);
/// What a loop pattern name is bound to.
pub(super) enum Source {
    Index,
    Element(Root),
}
/// A vector a `for` loop walks: a vector variable, or a view of one.
#[derive(Clone)]
pub(super) enum Root {
    Vector(VarId),
    View(super::view::View),
}
