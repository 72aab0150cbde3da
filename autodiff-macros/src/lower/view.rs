//! Sub-slice bindings, `let r = &x[a..b];`, lowered to indices into `x`.
//!
//! A view has no storage of its own in the generated code: `r[i]` becomes
//! `x[a + i]`, `r.len()` the length checked when the view was taken, a loop
//! over `r` a loop over part of `x`, and `f(r)` the sub-slice argument
//! `f(&x[a..b])`. Every adjoint then lands in `x`'s directly, as if the
//! user had written the offsets out, which is also what makes the
//! generated loops as fast as those (a base plus the loop variable, the
//! shape [`crate::window`] recognises). Rust's borrow rules keep `x` from
//! changing while `r` lives, so reading `x` later reads what `r` saw; the
//! start is copied when the view is taken, so a later assignment to a
//! variable in `a` does not move it. What a slice checks is kept: taking
//! the view checks its bounds against `x` (`__rt::view_len`, which slices
//! `x` itself), and `r[i]` checks `i` against the view's length
//! (`__rt::view_index`), not `x`'s.

use super::*;

/// What a sub-slice binding stands for: part of `base`, `len` elements
/// from `start`.
#[derive(Clone)]
pub(super) struct View {
    pub base: VarId,
    pub start: Operand,
    pub len: Operand,
}

fn usize_const(v: i64) -> Operand {
    let lit = proc_macro2::Literal::usize_unsuffixed(v as usize);
    Operand::Const(Constant {
        tokens: quote!(#lit),
        atomic: true,
        int: Some(v),
    })
}

impl Lowerer<'_> {
    /// The view a name stands for (also through `&` and parentheses).
    pub(super) fn view_of(&self, e: &Expr) -> Option<View> {
        match e {
            Expr::Paren(p) => self.view_of(&p.expr),
            Expr::Reference(r) if r.mutability.is_none() => self.view_of(&r.expr),
            Expr::Path(p) if p.qself.is_none() => {
                let id = p.path.get_ident()?;
                self.lookup(&id.to_string())?.view.clone()
            }
            _ => None,
        }
    }

    /// Reports a use of the view `name` other than those this module
    /// lowers.
    pub(super) fn view_misused(&self, at: &dyn ToTokens, name: &Ident) {
        self.cx.error_spanned_by(
            at,
            unsupported(
                &format!("this use of the sub-slice `{name}`"),
                &format!(
                    "index it (`{name}[i]`), take `{name}.len()`, loop over it (`for v in {name}`, `{name}.iter()`), or pass it to a `#[grad]` function (`f({name})`, `f(&{name}[a..b])`)"
                ),
            ),
        );
    }

    /// A `NonDiff` instruction into a fresh temporary.
    fn integer(&mut self, form: Form, args: Vec<Operand>) -> Operand {
        Operand::Var(self.bind_pending(
            Pending {
                op: Op::NonDiff,
                form,
                args,
                what: String::new(),
                origin: TokenStream::new(),
            },
            None,
        ))
    }

    fn sum(&mut self, a: Operand, b: Operand) -> Operand {
        match (&a, &b) {
            (Operand::Const(c), _) if c.int == Some(0) => b,
            (_, Operand::Const(c)) if c.int == Some(0) => a,
            _ => self.integer(Form::Infix(quote!(+)), vec![a, b]),
        }
    }

    /// `&base[range]` as a view: of a vector, or of another view.
    pub(super) fn lower_view(
        &mut self,
        e: &Expr,
        base: &Expr,
        range: &syn::ExprRange,
    ) -> Option<View> {
        // The vector, where the sliced part starts in it, and the slice the
        // bounds are checked on: `x`, or the outer view's part of it.
        let (base, offset, checked) = match self.view_of(base) {
            Some(v) => {
                let checked = self.view_argument(&v);
                (v.base, v.start, checked)
            }
            None => {
                let op = self.lower_operand(base)?;
                let v = self.sliced_vector(e, op)?;
                (v, usize_const(0), Operand::Ref(v))
            }
        };
        let start = range.start.as_ref().map(|s| self.lower_operand(s));
        let end = range.end.as_ref().map(|s| self.lower_operand(s));
        let start = start.map_or(Some(None), |s| s.map(Some))?;
        let end = end.map_or(Some(None), |s| s.map(Some))?;
        let rt = quote!(::autodiff::__rt);
        let from = start.clone().unwrap_or_else(|| usize_const(0));
        let len = match (end, matches!(range.limits, syn::RangeLimits::Closed(_))) {
            (Some(end), false) => self.integer(
                Form::Call(quote!(#rt::view_len)),
                vec![checked, from.clone(), end],
            ),
            (Some(end), true) => self.integer(
                Form::Call(quote!(#rt::view_len_inclusive)),
                vec![checked, from.clone(), end],
            ),
            (None, _) => self.integer(
                Form::Call(quote!(#rt::view_len_from)),
                vec![checked, from.clone()],
            ),
        };
        // The start as it is now, whatever later happens to its variables.
        let from = match from {
            Operand::Var(v) if !self.vars[v.0].temp => Operand::Var(self.snapshot(v)),
            other => other,
        };
        let start = self.sum(offset, from);
        Some(View { base, start, len })
    }

    /// `r[i]` of a view: element `start + i` of its vector, `i` checked
    /// against the view's length.
    pub(super) fn view_element(&mut self, view: &View, i: Operand) -> Pending {
        let at = self.integer(
            Form::ViewIndex,
            vec![view.start.clone(), i, view.len.clone()],
        );
        index_pending(view.base, at)
    }

    /// Element `k` of a view that a loop visits, `k` below its length by
    /// construction: no check.
    pub(super) fn view_visited(&mut self, view: &View, k: VarId) -> Pending {
        let at = self.sum(view.start.clone(), Operand::Var(k));
        index_pending(view.base, at)
    }

    /// A view passed to a call: the sub-slice of its vector.
    pub(super) fn view_argument(&mut self, view: &View) -> Operand {
        let end = self.sum(view.start.clone(), view.len.clone());
        Operand::Slice(
            view.base,
            Box::new(crate::ir::Bounds {
                start: Some(view.start.clone()),
                end: Some(end),
                inclusive: false,
            }),
        )
    }
}
