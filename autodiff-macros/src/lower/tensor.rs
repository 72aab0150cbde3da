//! Lowering of tensor expressions: operators, methods and runtime calls
//! whose operands are tensors become [`Op::Tensor`] instructions of the
//! table in [`crate::tensor_rules`]. Which form the user wrote (`&a + &b`,
//! `a + b`, `x.matmul(&w)`, `matmul(&x, &w)`) does not matter: all of them
//! are the same runtime function.

use super::*;
use crate::tensor_rules::{self, TensorOp};

/// Tensor methods whose result is not a float: derivative zero.
const NONDIFF_METHODS: &[&str] = &["shape", "rank", "numel"];

impl Lowerer<'_> {
    /// `origin`: the source, for the error when a constant argument
    /// depends on a differentiated input.
    fn tensor_pending(
        &self,
        op: TensorOp,
        args: Vec<Operand>,
        what: String,
        origin: TokenStream,
    ) -> Value {
        Value::Pending(Pending {
            op: Op::Tensor(op),
            form: Form::Tensor,
            args,
            what,
            origin,
        })
    }

    /// `a op b` where a side is a tensor.
    pub(super) fn tensor_binary(
        &self,
        e: &Expr,
        op: &BinOp,
        l: Operand,
        r: Operand,
    ) -> Option<Value> {
        let c = match op {
            BinOp::Add(_) => '+',
            BinOp::Sub(_) => '-',
            BinOp::Mul(_) => '*',
            BinOp::Div(_) => '/',
            _ => {
                self.cx.error_spanned_by(
                    e,
                    format!(
                        "#[grad] does not support `{}` on tensors: use `+ - * /`, the tensor methods (`maximum`, `minimum`, ...) or compute on scalars taken out with `.item()`",
                        op.to_token_stream()
                    ),
                );
                return None;
            }
        };
        let (lt, rt) = (self.kind(&l) == Kind::Tensor, self.kind(&r) == Kind::Tensor);
        let (top, swap) = tensor_rules::binary(c, lt, rt).expect("one side is a tensor");
        let args = if swap { vec![r, l] } else { vec![l, r] };
        Some(self.tensor_pending(top, args, format!("`{c}` on tensors"), e.to_token_stream()))
    }

    /// `-t`.
    pub(super) fn tensor_neg(&self, a: Operand) -> Value {
        self.tensor_pending(
            tensor_rules::by_name("neg"),
            vec![a],
            "negation".into(),
            TokenStream::new(),
        )
    }

    /// `recv.name(args)` with a tensor receiver.
    pub(super) fn tensor_method(
        &self,
        m: &syn::ExprMethodCall,
        all: Vec<Operand>,
    ) -> Option<Value> {
        let name = m.method.to_string();
        let form = Form::Method {
            name: m.method.clone(),
            turbofish: m.turbofish.as_ref().map(|t| t.to_token_stream()),
        };
        let (op, form, what, origin) = if name == "clone" && all.len() == 1 {
            (
                Op::Prim(Prim::Copy),
                form,
                "clone".into(),
                TokenStream::new(),
            )
        } else if NONDIFF_METHODS.contains(&name.as_str()) {
            (
                Op::NonDiff,
                form,
                format!("`.{name}()`"),
                TokenStream::new(),
            )
        } else if let Some(op) = tensor_rules::method(&name, all.len()) {
            let what = format!("`.{name}()`");
            (Op::Tensor(op), Form::Tensor, what, m.to_token_stream())
        } else if let Some(k) = tensor_rules::method_arity(&name) {
            self.cx.error_spanned_by(
                &m.method,
                format!(
                    "#[grad]: the tensor method `.{name}()` takes {} argument(s), found {}",
                    k - 1,
                    all.len() - 1
                ),
            );
            return None;
        } else {
            // No rule: fine on a constant tensor, an error if a derivative
            // would have to flow through it.
            let what = format!("the tensor method `.{name}()`");
            (Op::Opaque, form, what, m.to_token_stream())
        };
        Some(Value::Pending(Pending {
            op,
            form,
            args: all,
            what,
            origin,
        }))
    }

    /// `conv2d(x, w, bias, params)`: its bias is `Some(&b)` (an argument)
    /// or `None` (none), so it is lowered here; `None` for other calls.
    pub(super) fn conv2d_call(
        &mut self,
        c: &syn::ExprCall,
        path: &syn::Path,
    ) -> Option<Option<Value>> {
        let name = path.segments.last()?.ident.to_string();
        if name != "conv2d" || c.args.len() != 4 {
            return None;
        }
        let mut exprs: Vec<&Expr> = c.args.iter().collect();
        let bias = match exprs[2] {
            Expr::Path(p) if p.path.is_ident("None") => {
                exprs.remove(2);
                false
            }
            Expr::Call(s)
                if matches!(&*s.func, Expr::Path(p) if p.path.is_ident("Some"))
                    && s.args.len() == 1 =>
            {
                exprs[2] = &s.args[0];
                true
            }
            other => {
                self.cx.error_spanned_by(
                    other,
                    "#[grad]: write conv2d's bias as `Some(&b)` or `None`",
                );
                return Some(None);
            }
        };
        let Some(args) = self.lower_args(exprs) else {
            return Some(None);
        };
        let op =
            tensor_rules::function(&name, 4, bias).expect("both conv2d forms are in the table");
        Some(self.tensor_call(c, &name, op, args))
    }

    /// `name(args)` of a runtime tensor function with a tensor argument.
    pub(super) fn tensor_function(
        &self,
        c: &syn::ExprCall,
        name: &str,
        args: Vec<Operand>,
    ) -> Option<Value> {
        let Some(op) = tensor_rules::function(name, args.len(), false) else {
            self.cx.error_spanned_by(
                c,
                format!(
                    "#[grad]: `{name}` is called with {} argument(s), which no tensor operation of that name takes",
                    args.len()
                ),
            );
            return None;
        };
        self.tensor_call(c, name, op, args)
    }

    /// The instruction. Whether tensors are where the operation takes them
    /// is rustc's to check (a tensor may also be held in a value the macro
    /// cannot type, such as the element of a constant `&[Tensor]`).
    fn tensor_call(
        &self,
        c: &syn::ExprCall,
        name: &str,
        op: TensorOp,
        args: Vec<Operand>,
    ) -> Option<Value> {
        Some(self.tensor_pending(op, args, format!("`{name}`"), c.to_token_stream()))
    }
}
