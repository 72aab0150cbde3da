//! Unit tests of the stages on plain data: the IR a body lowers to, what the
//! activity analysis keeps, and the adjoint statements, without compiling
//! generated code.

use crate::{
    activity, attr, ctxt::Ctxt, ir::Operand, lower, names::Names, plan::Plan, reverse::Reverse,
    signature,
};
use quote::{quote, ToTokens};
use std::collections::HashMap;

struct Staged {
    ir: crate::ir::Function,
    act: activity::Activity,
    names: Names,
}

fn stage(func: syn::ItemFn, attr_tokens: proc_macro2::TokenStream) -> Result<Staged, String> {
    let cx = Ctxt::new();
    let args = attr::parse(&cx, attr_tokens);
    let sig = signature::read(&cx, &func, &args);
    let mut names = Names::new(func.to_token_stream());
    let staged = sig.and_then(|sig| {
        let ir = lower::lower(&cx, &func, &sig, &mut names)?;
        let act = activity::analyze(&cx, &ir, &sig);
        Some((ir, act))
    });
    match (cx.into_compile_errors(), staged) {
        (None, Some((ir, act))) => Ok(Staged { ir, act, names }),
        (Some(e), _) => Err(e.to_string()),
        (None, None) => Err("no result and no error".into()),
    }
}

/// The backward section's code, as one string.
fn backward(s: &mut Staged) -> String {
    let plan = Plan::new(&s.ir, &s.act);
    let tapes = (HashMap::new(), HashMap::new());
    let ret_ty: syn::Type = syn::parse_quote!(f64);
    let mut r = Reverse::new(
        &s.ir,
        &s.act,
        &plan,
        &mut s.names,
        &tapes,
        quote!(1.0),
        &ret_ty,
    );
    r.sweep()
        .iter()
        .map(|t| t.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn var_names(s: &Staged) -> Vec<String> {
    s.ir.vars.iter().map(|v| v.ident.to_string()).collect()
}

#[test]
fn one_instruction_per_operation_with_user_names_kept() {
    let s = stage(
        syn::parse_quote! {
            fn f(x: f64, y: f64) -> f64 {
                let a = x * y + x.sin();
                a
            }
        },
        quote!(),
    )
    .unwrap();
    assert_eq!(var_names(&s), ["x", "y", "t0", "t1", "a"]);
    assert_eq!(s.ir.instrs().len(), 3);
    assert!(matches!(s.ir.ret, Operand::Var(v) if s.ir.vars[v.0].ident == "a"));
}

#[test]
fn shadowing_and_reassignment_create_new_versions() {
    let s = stage(
        syn::parse_quote! {
            fn f(mut x: f64) -> f64 {
                let y = x * 2.0;
                let y = y + 1.0;
                x += y;
                x = x * x;
                x
            }
        },
        quote!(),
    )
    .unwrap();
    assert_eq!(var_names(&s), ["x", "y", "y_1", "x_1", "x_2"]);
}

#[test]
fn constants_fold_inline_and_integers_are_inactive() {
    let s = stage(
        syn::parse_quote! {
            fn f(x: f64, n: i32) -> f64 {
                let m = n * 2;
                x * (2.0 * PI) + m as f64
            }
        },
        quote!(),
    )
    .unwrap();
    // `2.0 * PI` needs no temporary; `m` and `m as f64` are never active.
    let m = s.ir.vars.iter().position(|v| v.ident == "m").unwrap();
    assert!(!s.act.varied[m]);
    let consts: Vec<String> =
        s.ir.instrs()
            .into_iter()
            .flat_map(|i| &i.args)
            .filter_map(|a| match a {
                Operand::Const(c) => Some(c.tokens.to_string()),
                Operand::Var(_) | Operand::Ref(_) | Operand::Slice(..) => None,
            })
            .collect();
    assert!(consts.contains(&"2.0 * PI".to_string()), "{consts:?}");
}

#[test]
fn dead_values_get_no_adjoint() {
    let mut s = stage(
        syn::parse_quote! {
            fn f(x: f64, y: f64) -> f64 {
                let dead = x.exp() * y;
                let _ = dead;
                x * 3.0
            }
        },
        quote!(),
    )
    .unwrap();
    let code = backward(&mut s);
    assert_eq!(
        code,
        "let grad_out : f64 = 1.0 ;\nlet grad_x = grad_out * 3.0 ;"
    );
}

#[test]
fn fan_out_gives_one_let_then_additions() {
    let mut s = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 { x * x.sin() }
        },
        quote!(),
    )
    .unwrap();
    let code = backward(&mut s);
    assert!(
        code.contains("let mut grad_x = grad_out * t0 ;")
            && code.contains("grad_x += grad_t0 * x . cos () ;"),
        "{code}"
    );
}

#[test]
fn a_square_gives_one_doubled_contribution() {
    let mut s = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 { x * x }
        },
        quote!(),
    )
    .unwrap();
    let code = backward(&mut s);
    assert!(code.contains("let grad_x = grad_out * x * 2.0 ;"), "{code}");
}

#[test]
fn wrt_limits_the_varied_set() {
    let s = stage(
        syn::parse_quote! {
            fn f(w: f64, x: f64) -> f64 { w * x }
        },
        quote!(wrt(w)),
    )
    .unwrap();
    assert_eq!(s.act.varied[..2], [true, false]);
}

#[test]
fn errors_are_collected_not_panicked() {
    let err = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 {
                let a = |v: f64| v;
                let b = unsafe { x };
                a + b
            }
        },
        quote!(),
    )
    .err()
    .unwrap();
    assert!(err.contains("closures"), "{err}");
    assert!(err.contains("`unsafe`"), "{err}");
}

#[test]
fn unknown_methods_are_errors_only_when_active() {
    // Fine: `.cube()` only sees a constant.
    stage(
        syn::parse_quote! {
            fn f(x: f64, n: i32) -> f64 { x * n.cube() }
        },
        quote!(),
    )
    .unwrap();
    let err = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 { x.cube() }
        },
        quote!(),
    )
    .err()
    .unwrap();
    assert!(
        err.contains("no derivative rule for the method `.cube()`"),
        "{err}"
    );
}

#[test]
fn calls_go_through_the_callee_vjp() {
    // In a loop whose reverse runs after it: the pullback, in the reverse.
    let mut s = stage(
        syn::parse_quote! {
            fn f(x: f64, n: i32) -> f64 {
                let mut s = x;
                for _ in 0..n { s = helper(s, n) * 2.0; }
                s
            }
        },
        quote!(),
    )
    .unwrap();
    let code = backward(&mut s);
    assert!(code.contains("helper_vjp (s , n , grad_t0)"), "{code}");
}

#[test]
fn top_level_calls_keep_the_callee_gradient() {
    let func: syn::ItemFn = syn::parse_quote! {
        fn f(x: f64, n: i32) -> f64 { helper(x, n) * 2.0 }
    };
    let code = crate::expand(quote!(), func.to_token_stream()).to_string();
    // One call, value and gradient at cotangent 1; the reverse scales.
    assert!(
        code.contains("let (t0_value , t0_gradient) = helper_grad_vjp (x , n) ;"),
        "{code}"
    );
    assert!(code.contains("let (d_x , _ ,) = t0_gradient ;"), "{code}");
    assert!(
        code.contains("let grad_x = :: autodiff :: __rt :: scale (d_x , grad_t0) ;"),
        "{code}"
    );
    assert!(!code.contains("helper_vjp"), "{code}");
    // The primal call is the user's own function's only one.
    assert_eq!(code.matches("helper (x , n)").count(), 1, "{code}");
}

#[test]
fn very_long_functions_expand_quickly() {
    // 2,000 statements: lowering, analysis and the sweep are linear.
    let mut stmts = Vec::new();
    stmts.push(quote!(let mut acc = x;));
    for k in 0..2000 {
        let c = proc_macro2::Literal::f64_unsuffixed(1.0 + k as f64 * 1e-3);
        stmts.push(quote!(acc = (acc * #c).sin() + y;));
    }
    let func: syn::ItemFn = syn::parse_quote! {
        fn f(x: f64, y: f64) -> f64 { #(#stmts)* acc }
    };
    let mut s = stage(func, quote!()).unwrap();
    assert_eq!(s.ir.instrs().len(), 1 + 3 * 2000);
    let code = backward(&mut s);
    assert!(code.lines().count() > 6000);
}

/// The loops left at the top level of `f` after [`crate::merge`], with the
/// number of statements in each body.
fn merged_loops(func: syn::ItemFn) -> Vec<usize> {
    let mut s = stage(func, quote!()).unwrap();
    crate::merge::merge_loops(&mut s.ir);
    s.ir.body
        .stmts
        .iter()
        .filter_map(|st| match st {
            crate::ir::Stmt::Loop(l) => Some(l.body.stmts.len()),
            _ => None,
        })
        .collect()
}

#[test]
fn element_wise_steps_over_one_range_merge() {
    let loops = merged_loops(syn::parse_quote! {
        fn f(x: &[f64], mu: &[f64], s: &[f64]) -> f64 {
            let n = x.len();
            let mut c = vec![0.0; n];
            let mut q = vec![0.0; n];
            for i in 0..n { c[i] = x[i] - mu[i]; }
            for i in 0..n { q[i] = s[i] * c[i]; }
            for j in 0..n { if q[j] > 0.0 { q[j] = q[j] * c[j]; } }
            q[0]
        }
    });
    assert_eq!(loops.len(), 1, "{loops:?}");
}

#[test]
fn dependent_or_unlike_loops_stay_apart() {
    let cases: Vec<syn::ItemFn> = vec![
        // A neighbour the first loop writes later.
        syn::parse_quote! {
            fn f(x: &[f64], c: f64) -> f64 {
                let n = x.len();
                let mut y = vec![0.0; n];
                let mut z = vec![0.0; n];
                for i in 0..n { y[i] = x[i] * c; }
                for i in 0..n { z[i] = y[n - 1 - i] * c; }
                z[0]
            }
        },
        // An accumulator: the first loop's sum is read by the second.
        syn::parse_quote! {
            fn f(x: &[f64], c: f64) -> f64 {
                let n = x.len();
                let mut y = vec![0.0; n];
                let mut s = 0.0;
                for i in 0..n { s += x[i] * c; }
                for i in 0..n { y[i] = x[i] * s; }
                y[0]
            }
        },
        // Other ranges, a reversed loop.
        syn::parse_quote! {
            fn f(x: &[f64], c: f64) -> f64 {
                let n = x.len();
                let mut y = vec![0.0; n];
                for i in 0..n { y[i] = x[i] * c; }
                for i in 1..n { y[i] = y[i] * c; }
                for i in (0..n).rev() { y[i] = y[i] * c; }
                y[0]
            }
        },
        // A call, which may have effects of its own.
        syn::parse_quote! {
            fn f(x: &[f64], c: f64) -> f64 {
                let n = x.len();
                let mut y = vec![0.0; n];
                for i in 0..n { y[i] = x[i] * c; }
                for i in 0..n { y[i] = g(y[i]); }
                y[0]
            }
        },
        // A whole-vector use of what the other loop writes.
        syn::parse_quote! {
            fn f(x: &[f64], c: f64) -> f64 {
                let n = x.len();
                let mut y = vec![0.0; n];
                let mut z = vec![0.0; n];
                for i in 0..n { y[i] = x[i] * c; }
                for i in 0..n { z[i] = y.len() as f64 * x[i]; }
                z[0]
            }
        },
    ];
    for (k, case) in cases.into_iter().enumerate() {
        let loops = merged_loops(case);
        assert!(loops.len() >= 2, "case {k}: merged into {loops:?}");
    }
}

/// Developer aid: `AUTODIFF_DUMP=path/to/file.rs cargo test -p autodiff-macros dump -- --nocapture`
/// prints the expansion of every `#[grad]` function in the file, formatted,
/// even when it does not compile.
#[test]
fn dump() {
    let Some(path) = std::env::var_os("AUTODIFF_DUMP") else {
        return;
    };
    let src = std::fs::read_to_string(path).unwrap();
    let file: syn::File = syn::parse_str(&src).unwrap();
    for item in file.items {
        if let syn::Item::Fn(mut f) = item {
            if let Some(pos) = f.attrs.iter().position(|a| a.path().is_ident("grad")) {
                let attr = f.attrs.remove(pos);
                let args = match attr.meta {
                    syn::Meta::List(l) => l.tokens,
                    _ => quote!(),
                };
                let out = crate::expand(args, f.to_token_stream());
                match syn::parse2::<syn::File>(out.clone()) {
                    Ok(parsed) => println!("{}", prettyplease::unparse(&parsed)),
                    Err(_) => println!("{out}"),
                }
            }
        }
    }
}
