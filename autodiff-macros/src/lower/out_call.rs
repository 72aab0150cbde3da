//! Calls that write into a vector: `h(x, &mut v);`.
//!
//! Such a call is an assignment to `v` whose value is what `h` leaves in
//! it, so it lowers to one: `v = OutCall(x, &v)`. The forward code runs `h`
//! on a copy of `v` (the old value stays for the tape, like any overwritten
//! vector's), and the reverse pulls `v`'s adjoint back through the callee's
//! `h_autodiff_out` functions ([`crate::output`]): into `x`'s adjoint and
//! into the adjoint of the old `v`, which the callee may have read.

use super::*;

impl Lowerer<'_> {
    /// The argument `c` writes into: `&mut v`, or an output parameter of
    /// this function passed on by name (`g(x, out)`).
    pub(super) fn written_arg(&self, c: &syn::ExprCall) -> Option<usize> {
        c.args.iter().position(|a| self.writes_into(a))
    }

    fn writes_into(&self, a: &Expr) -> bool {
        match a {
            Expr::Reference(r) => r.mutability.is_some(),
            Expr::Path(p) if p.qself.is_none() => p
                .path
                .get_ident()
                .is_some_and(|id| self.outputs.iter().any(|o| id == o)),
            _ => false,
        }
    }

    pub(super) fn lower_out_call(&mut self, c: &syn::ExprCall) {
        let written: Vec<usize> = (0..c.args.len())
            .filter(|&i| self.writes_into(&c.args[i]))
            .collect();
        if let Some(&second) = written.get(1) {
            self.cx.error_spanned_by(
                &c.args[second],
                unsupported(
                    "a call writing into two vectors",
                    "give the callee one `&mut` parameter (one call per output vector)",
                ),
            );
            return;
        }
        let k = written[0];
        let Some(fp) = self.callee_path(c) else {
            return;
        };
        let Some((ident, v)) = self.written_vector(&c.args[k]) else {
            return;
        };
        let out = &c.args[k];
        let Some(args) = self.lower_each(&c.args, |s, a| {
            if std::ptr::eq(a, out) {
                Some(Operand::Ref(v))
            } else {
                s.lower_call_args(std::iter::once(a))?.pop()
            }
        }) else {
            return;
        };
        let op = match self.vars[v.0].kind {
            Kind::Other => Op::NonDiff,
            _ => Op::Call,
        };
        let p = Pending {
            op,
            form: Form::OutCall {
                path: fp.to_token_stream(),
                out: k,
            },
            args,
            what: format!("the function `{}`", path_string(&fp.path)),
            origin: c.to_token_stream(),
        };
        self.assign_rhs(&ident, Rhs::Pending(p));
    }

    /// The vector variable `&mut v` (or the output parameter `out`) names.
    fn written_vector(&self, a: &Expr) -> Option<(Ident, VarId)> {
        let target = match a {
            Expr::Reference(r) => &*r.expr,
            e => e,
        };
        let ident = match target {
            Expr::Path(p) if p.qself.is_none() => p.path.get_ident(),
            _ => None,
        };
        let Some(ident) = ident else {
            let what = if matches!(target, Expr::Index(_)) {
                "a call writing into part of a vector (`&mut v[a..b]`, `&mut v[i]`)"
            } else {
                "`&mut` of this expression"
            };
            self.cx.error_spanned_by(
                a,
                unsupported(
                    what,
                    "pass a whole local vector, `&mut v` (`let mut v = vec![0.0; n];`), and read the part you need from it",
                ),
            );
            return None;
        };
        let binding = self.lookup(&ident.to_string());
        match binding {
            Some(b) if b.view.is_some() => {
                self.view_misused(a, ident);
                None
            }
            // A vector of floats; a value with no derivative (a
            // `Vec<usize>` the callee fills), whose call is `NonDiff`; or a
            // value of unknown type (`Vec::new()`), which is an error only
            // if the gradient flows through it (`activity`).
            Some(Binding { var: Some(v), .. }) => Some((ident.clone(), *v)),
            Some(Binding { var: None, .. }) => {
                self.cx
                    .error_spanned_by(a, format!("`{ident}` is used before it is assigned"));
                None
            }
            None => {
                self.cx.error_spanned_by(
                    a,
                    format!("#[grad]: `{ident}` is not a local variable or parameter here"),
                );
                None
            }
        }
    }
}
