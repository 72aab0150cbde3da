//! Activity analysis: which values need an adjoint.
//!
//! A value is *varied* when it depends on a differentiable parameter
//! (forward), *useful* when the output depends on it (backward); only values
//! that are both get adjoint code, so dead adjoints are never emitted. Both
//! are fixpoints, so values carried around loops are covered; a location
//! assigned at several sites is active if any assignment makes it so. An
//! operation with no derivative rule is an error exactly when an active
//! value flows through it: the gradient would otherwise be silently wrong.

use crate::ctxt::Ctxt;
use crate::ir::{Form, Function, Instr, Kind, Op, Operand, Stmt, VarId};
use crate::signature::{ParamKind, Signature};
use crate::tensor_rules::Role;

pub struct Activity {
    pub varied: Vec<bool>,
    pub useful: Vec<bool>,
}

impl Activity {
    pub fn active(&self, v: VarId) -> bool {
        self.varied[v.0] && self.useful[v.0]
    }
}

pub fn analyze(cx: &Ctxt, f: &Function, sig: &Signature) -> Activity {
    let n = f.vars.len();
    let stmts = f.stmts();
    let mut varied = vec![false; n];
    for (p, id) in sig.params.iter().zip(&f.params) {
        if let (ParamKind::Scalar | ParamKind::Vector | ParamKind::Tensor, Some(id)) = (&p.kind, id)
        {
            varied[id.0] = true;
        }
    }
    let is_varied = |varied: &[bool], op: &Operand| op.var().is_some_and(|v| varied[v.0]);
    // The arguments a derivative flows through (not a tensor operation's
    // labels, axes or parameters).
    let flowing = |ins: &Instr| -> Vec<Operand> {
        match ins.op {
            Op::Tensor(op) => op
                .arg_roles()
                .zip(&ins.args)
                .filter(|(r, _)| *r != Role::C)
                .map(|(_, a)| a.clone())
                .collect(),
            _ => ins.args.clone(),
        }
    };
    loop {
        let mut changed = false;
        for (s, _, _) in &stmts {
            let (dest, flows) = match s {
                Stmt::Assign(ins) => (
                    ins.dest,
                    ins.op != Op::NonDiff && flowing(ins).iter().any(|a| is_varied(&varied, a)),
                ),
                Stmt::Store(st) => (st.vec, is_varied(&varied, &st.value)),
                _ => continue,
            };
            if flows && !varied[dest.0] {
                varied[dest.0] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }

    let mut useful = vec![false; n];
    if let Some(v) = f.ret.var() {
        useful[v.0] = true;
    }
    loop {
        let mut changed = false;
        for (s, _, _) in stmts.iter().rev() {
            let sources: Vec<Operand> = match s {
                Stmt::Assign(ins) if useful[ins.dest.0] && ins.op != Op::NonDiff => flowing(ins),
                Stmt::Store(st) if useful[st.vec.0] => vec![st.value.clone()],
                _ => continue,
            };
            for v in sources.iter().filter_map(Operand::var) {
                if !useful[v.0] {
                    useful[v.0] = true;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }

    let act = Activity { varied, useful };
    for ins in f.instrs() {
        if let Op::Tensor(op) = ins.op {
            let dropped = op
                .arg_roles()
                .zip(&ins.args)
                .any(|(r, a)| r == Role::C && is_varied(&act.varied, a));
            if dropped && act.useful[ins.dest.0] {
                cx.error_spanned_by(
                    &ins.origin,
                    format!(
                        "#[grad]: {} is not differentiated with respect to this argument (labels, axes, shapes, exponents, slopes and layer parameters are constants), but here it depends on a differentiated input",
                        ins.what
                    ),
                );
            }
        }
        // (Through the call: a location's later versions may be active
        // while this one is a constant, `let mut s = 0.0; fill(&mut s);`.)
        let written = matches!(ins.form, Form::OutCall { .. })
            && ins.args.iter().any(|a| is_varied(&act.varied, a));
        if written && act.active(ins.dest) && f.vars[ins.dest.0].kind != Kind::Vector {
            cx.error_spanned_by(
                &ins.origin,
                format!(
                    "#[grad] differentiates calls that write into a vector of floats (`&mut v`, `v: Vec<f64>`), and the output depends on what {} writes here through a differentiated input: return the value from the callee instead, or write it into a `Vec<f64>`",
                    ins.what
                ),
            );
        }
        if ins.op == Op::Opaque && act.active(ins.dest) {
            let instead = if ins.what.starts_with("the tensor method") {
                "Use the tensor operations that have a rule (`matmul`, `relu`, `sigmoid`, `sum`, `item`, ...: the table in the README)"
            } else {
                "Use operations with a rule (arithmetic, the float methods, `sigmoid`/`relu`/`softplus`)"
            };
            cx.error_spanned_by(
                &ins.origin,
                format!(
                    "#[grad] has no derivative rule for {}, and the output depends on it through a differentiated input. {instead}, call a function that has `#[grad]` or `#[custom_grad]`, or compute this value from constants only.",
                    ins.what
                ),
            );
        }
    }
    act
}
