//! Values a differentiated call would move that the gradient code needs
//! again.
//!
//! `f(v)` with `v: Vec<f64>` moves `v` into the callee, and the user's
//! function never touches `v` again. Its gradient does: the reverse calls
//! the callee's `f_vjp_into` with the same arguments, a loop's tape keeps the
//! value, and `v`'s adjoint is shaped like `v`. So the generated code passes
//! such an argument as a clone, and the user's call stays as written.
//! References, arrays and numbers are `Copy` and go through unchanged; only a
//! value that may own its storage is cloned, as far as the macro can tell
//! from a type annotation or from what produced the value (it sees no types
//! of its own).

use crate::ir::{Form, Function, Kind, Operand};

/// Methods whose result owns its storage (`x.to_vec()`, `it.collect()`).
const OWNING_METHODS: &[&str] = &["to_vec", "to_owned", "clone", "collect", "concat", "repeat"];

/// Marks the variables that may own their storage ([`crate::ir::Var::owned`]).
pub fn mark(f: &mut Function) {
    let mut owned: Vec<bool> = f
        .vars
        .iter()
        .map(|v| {
            matches!(v.kind, Kind::Vector | Kind::Other) && v.ty.as_ref().is_some_and(owning_type)
        })
        .collect();
    // A copy of an owned value is owned: repeat until nothing changes, since
    // a loop may copy a value defined later in the source.
    let instrs = f.instrs();
    loop {
        let mut changed = false;
        for ins in &instrs {
            let var = &f.vars[ins.dest.0];
            if owned[ins.dest.0]
                || var.ty.is_some()
                || !matches!(var.kind, Kind::Vector | Kind::Other)
            {
                continue;
            }
            owned[ins.dest.0] = match &ins.form {
                Form::VecFill { array } => !array,
                Form::List { vec } => *vec,
                Form::Method { name, .. } => OWNING_METHODS.iter().any(|m| name == m),
                // `Vec::new()`, `make_indices(n)`: a vector or an opaque value
                // from a function may well be a `Vec`.
                Form::Call(_) => true,
                // The copy of the vector written into.
                Form::OutCall { out, .. } => ins.args[*out].var().is_some_and(|w| owned[w.0]),
                Form::Copy => matches!(ins.args[..], [Operand::Var(w)] if owned[w.0]),
                _ => false,
            };
            changed |= owned[ins.dest.0];
        }
        if !changed {
            break;
        }
    }
    for (v, o) in f.vars.iter_mut().zip(owned) {
        v.owned = o;
    }
}

/// `Vec<f64>`, `String`, `MyIndex`: a named type that is not a number,
/// `bool` or `char` (whose values are `Copy`). References, arrays, slices and
/// tuples are not owning.
fn owning_type(t: &syn::Type) -> bool {
    const COPY: &[&str] = &[
        "f32", "f64", "usize", "isize", "u8", "u16", "u32", "u64", "u128", "i8", "i16", "i32",
        "i64", "i128", "bool", "char",
    ];
    match t {
        syn::Type::Path(p) => p
            .path
            .segments
            .last()
            .is_some_and(|s| !COPY.iter().any(|c| s.ident == c)),
        syn::Type::Paren(p) => owning_type(&p.elem),
        syn::Type::Group(g) => owning_type(&g.elem),
        _ => false,
    }
}
