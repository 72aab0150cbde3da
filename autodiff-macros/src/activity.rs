//! Activity analysis: which values need an adjoint.
//!
//! A value is *varied* when it depends on a differentiable parameter
//! (forward), *useful* when the output depends on it (backward); only values
//! that are both get adjoint code, so dead adjoints are never emitted. An
//! operation with no derivative rule is an error exactly when an active
//! value flows through it: the gradient would otherwise be silently wrong.

use crate::ctxt::Ctxt;
use crate::ir::{Function, Op, Operand, VarId};
use crate::signature::{ParamKind, Signature};

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
    let mut varied = vec![false; n];
    for (p, id) in sig.params.iter().zip(&f.params) {
        if let (ParamKind::Scalar, Some(id)) = (&p.kind, id) {
            varied[id.0] = true;
        }
    }
    let is_varied = |varied: &[bool], op: &Operand| matches!(op, Operand::Var(v) if varied[v.0]);
    for ins in f.instrs() {
        varied[ins.dest.0] =
            ins.op != Op::NonDiff && ins.args.iter().any(|a| is_varied(&varied, a));
    }

    let mut useful = vec![false; n];
    if let Operand::Var(v) = &f.ret {
        useful[v.0] = true;
    }
    for ins in f.instrs().rev() {
        if useful[ins.dest.0] && ins.op != Op::NonDiff {
            for a in &ins.args {
                if let Operand::Var(v) = a {
                    useful[v.0] = true;
                }
            }
        }
    }

    let act = Activity { varied, useful };
    for ins in f.instrs() {
        if ins.op == Op::Opaque && act.active(ins.dest) {
            cx.error_spanned_by(
                &ins.origin,
                format!(
                    "#[grad] has no derivative rule for {}, and the output depends on it through a differentiated input. Use operations with a rule (arithmetic, the float methods, `sigmoid`/`relu`/`softplus`), or compute this value from constants only. Calls to other functions are not differentiated in this version.",
                    ins.what
                ),
            );
        }
    }
    act
}
