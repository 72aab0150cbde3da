//! Unit tests of the stages on plain data: the IR a body lowers to, what the
//! activity analysis keeps, and the adjoint statements, without compiling
//! generated code.

use crate::{activity, attr, ctxt::Ctxt, ir::Operand, lower, names::Names, reverse, signature};
use quote::{quote, ToTokens};

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
    assert_eq!(s.ir.instrs().count(), 3);
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
            .flat_map(|i| &i.args)
            .filter_map(|a| match a {
                Operand::Const(c) => Some(c.tokens.to_string()),
                Operand::Var(_) => None,
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
    let adj = reverse::reverse(&s.ir, &s.act, &mut s.names, quote!(1.0));
    let targets: Vec<String> = adj
        .contributions
        .iter()
        .map(|c| s.ir.vars[c.target.0].ident.to_string())
        .collect();
    assert_eq!(targets, ["out", "x"]);
}

#[test]
fn fan_out_gives_one_let_then_additions() {
    let mut s = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 { x * x }
        },
        quote!(),
    )
    .unwrap();
    let adj = reverse::reverse(&s.ir, &s.act, &mut s.names, quote!(1.0));
    let to_x = adj
        .contributions
        .iter()
        .filter(|c| s.ir.vars[c.target.0].ident == "x")
        .count();
    assert_eq!(to_x, 2);
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
                let a = if x > 0.0 { x } else { 0.0 };
                let b = x[0];
                a + b
            }
        },
        quote!(),
    )
    .err()
    .unwrap();
    assert!(err.contains("`if`"), "{err}");
    assert!(err.contains("indexing"), "{err}");
}

#[test]
fn opaque_calls_are_errors_only_when_active() {
    // Fine: `helper` only sees a constant.
    stage(
        syn::parse_quote! {
            fn f(x: f64, n: i32) -> f64 { x * helper(n) }
        },
        quote!(),
    )
    .unwrap();
    let err = stage(
        syn::parse_quote! {
            fn f(x: f64) -> f64 { helper(x) }
        },
        quote!(),
    )
    .err()
    .unwrap();
    assert!(
        err.contains("no derivative rule for the function `helper`"),
        "{err}"
    );
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
    let adj = reverse::reverse(&s.ir, &s.act, &mut s.names, quote!(1.0));
    assert_eq!(s.ir.instrs().count(), 1 + 3 * 2000);
    assert!(adj.contributions.len() > 6000);
}
