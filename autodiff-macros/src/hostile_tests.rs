//! Hostile input: malformed, unsupported and odd functions given to the
//! macro in-process. Each must expand without panicking, quickly, into
//! valid Rust: either the generated functions (and no error), or
//! `compile_error!`s. (The spans of the errors are pinned by the trybuild
//! suite; the cases that expand cleanly are compiled and checked against
//! finite differences in `tests/hostile_valid.rs`.)

use quote::quote;
use std::time::{Duration, Instant};

/// `(name, attribute arguments, item, expected to expand without errors)`.
fn corpus() -> Vec<(
    &'static str,
    proc_macro2::TokenStream,
    proc_macro2::TokenStream,
    bool,
)> {
    vec![
        (
            "empty body",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {}
            ),
            false,
        ),
        (
            "bare return",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    return;
                }
            ),
            false,
        ),
        (
            "no parameters",
            quote!(),
            quote!(
                fn f() -> f64 {
                    1.0
                }
            ),
            false,
        ),
        (
            "generic type",
            quote!(),
            quote!(
                fn f<T: Copy>(x: T, y: f64) -> f64 {
                    y
                }
            ),
            false,
        ),
        (
            "generic with wrt",
            quote!(wrt(y)),
            quote!(
                fn f<T: Copy>(_x: T, y: f64) -> f64 {
                    y * y
                }
            ),
            true,
        ),
        (
            "const generic array",
            quote!(),
            quote!(
                fn f<const N: usize>(x: [f64; N]) -> f64 {
                    x[0] * x[N - 1]
                }
            ),
            true,
        ),
        (
            "impl Trait parameter",
            quote!(),
            quote!(
                fn f(x: impl Into<f64>) -> f64 {
                    x.into()
                }
            ),
            false,
        ),
        (
            "&mut parameter",
            quote!(),
            quote!(
                fn f(x: &mut f64) -> f64 {
                    *x
                }
            ),
            false,
        ),
        (
            "&f64 parameter",
            quote!(),
            quote!(
                fn f(x: &f64) -> f64 {
                    *x
                }
            ),
            false,
        ),
        (
            "self receiver",
            quote!(),
            quote!(
                fn f(&self, x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "tuple pattern parameter",
            quote!(),
            quote!(
                fn f((a, b): (f64, f64)) -> f64 {
                    a * b
                }
            ),
            false,
        ),
        (
            "parameter attributes",
            quote!(),
            quote!(
                fn f(#[allow(unused)] x: f64, y: f64) -> f64 {
                    y
                }
            ),
            true,
        ),
        (
            "where clause",
            quote!(),
            quote!(
                fn f<'a>(x: f64, s: &'a str) -> f64
                where
                    'a: 'a,
                {
                    x
                }
            ),
            true,
        ),
        (
            "async",
            quote!(),
            quote!(
                async fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "unsafe fn",
            quote!(),
            quote!(
                unsafe fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "extern fn",
            quote!(),
            quote!(
                extern "C" fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "const fn",
            quote!(),
            quote!(
                const fn f(x: f64) -> f64 {
                    x
                }
            ),
            true,
        ),
        (
            "println in body",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    println!("{}", x);
                    x
                }
            ),
            false,
        ),
        (
            "todo in body",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    todo!()
                }
            ),
            false,
        ),
        (
            "closure",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let g = |v: f64| v;
                    g(x)
                }
            ),
            false,
        ),
        (
            "nested fn item",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    fn h(v: f64) -> f64 {
                        v
                    }
                    x * 2.0
                }
            ),
            true,
        ),
        (
            "struct item in body",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    struct S;
                    let _ = S;
                    x
                }
            ),
            true,
        ),
        (
            "labeled block",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    'a: {
                        x
                    }
                }
            ),
            false,
        ),
        (
            "loop without break",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    loop {}
                }
            ),
            false,
        ),
        (
            "while let",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    while let Some(_) = None::<i32> {}
                    x
                }
            ),
            false,
        ),
        (
            "if let",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    if let 1 = 1 {
                        x
                    } else {
                        x
                    }
                }
            ),
            false,
        ),
        (
            "let else",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let 1 = 1 else {
                        return x;
                    };
                    x
                }
            ),
            false,
        ),
        (
            "tuple destructuring",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let (a, b) = (x, x);
                    a + b
                }
            ),
            true,
        ),
        (
            "nested tuple destructuring",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let ((a, b), c) = ((x, x), x);
                    a + b + c
                }
            ),
            false,
        ),
        (
            "field access",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let p = (x, x);
                    p.0
                }
            ),
            false,
        ),
        (
            "question mark",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    Some(x)?
                }
            ),
            false,
        ),
        (
            "match with @ binding",
            quote!(),
            quote!(
                fn f(x: f64, n: i32) -> f64 {
                    match n {
                        k @ 1..=3 => x,
                        _ => x,
                    }
                }
            ),
            false,
        ),
        (
            "open range pattern",
            quote!(),
            quote!(
                fn f(x: f64, n: i32) -> f64 {
                    match n {
                        3.. => x,
                        _ => 0.0,
                    }
                }
            ),
            false,
        ),
        (
            "break with value",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let v = loop {
                        break x;
                    };
                    v
                }
            ),
            false,
        ),
        (
            "continue outside loop",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    continue;
                    x
                }
            ),
            false,
        ),
        (
            "unicode identifiers",
            quote!(),
            quote!(
                fn f(größe: f64, λ: f64) -> f64 {
                    größe * λ
                }
            ),
            true,
        ),
        (
            "raw identifiers",
            quote!(),
            quote!(
                fn f(r#type: f64, r#fn: f64) -> f64 {
                    let r#let = r#type * r#fn;
                    r#let
                }
            ),
            true,
        ),
        (
            "shadowing the function's name",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    let f = x * 2.0;
                    f * f
                }
            ),
            true,
        ),
        (
            "names like generated ones",
            quote!(),
            quote!(
                fn f(grad_x: f64, tape_x: f64, iters: f64, t0: f64) -> f64 {
                    let out = grad_x * tape_x;
                    let value = out + iters * t0;
                    let ret = value.sin();
                    ret
                }
            ),
            true,
        ),
        (
            "malformed wrt",
            quote!(wrt),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "wrt with a literal",
            quote!(wrt(1)),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "wrt trailing comma",
            quote!(wrt(x,)),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            true,
        ),
        (
            "name-value attribute",
            quote!(= 3),
            quote!(
                fn f(x: f64) -> f64 {
                    x
                }
            ),
            false,
        ),
        (
            "on a const",
            quote!(),
            quote!(
                const C: f64 = 1.0;
            ),
            false,
        ),
        (
            "on an enum",
            quote!(),
            quote!(
                enum E {
                    A,
                }
            ),
            false,
        ),
        (
            "on an impl block",
            quote!(),
            quote!(impl S { fn f(x: f64) -> f64 { x } }),
            false,
        ),
        (
            "on a static",
            quote!(),
            quote!(
                static S: f64 = 1.0;
            ),
            false,
        ),
        (
            "array of arrays",
            quote!(),
            quote!(
                fn f(x: [[f64; 2]; 2]) -> f64 {
                    x[0][1]
                }
            ),
            false,
        ),
        (
            "slice of slices",
            quote!(),
            quote!(
                fn f(x: &[&[f64]]) -> f64 {
                    x[0][0]
                }
            ),
            false,
        ),
        (
            "unknown method on active value",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    x.frobnicate()
                }
            ),
            false,
        ),
        (
            "Self path",
            quote!(),
            quote!(
                fn f(x: f64) -> f64 {
                    Self::g(x)
                }
            ),
            true,
        ),
        (
            "return type f32 from f64 param",
            quote!(),
            quote!(
                fn f(x: f64) -> f32 {
                    x as f32
                }
            ),
            true,
        ),
        (
            "tuple return",
            quote!(),
            quote!(
                fn f(x: f64) -> (f64, f64) {
                    (x, x)
                }
            ),
            false,
        ),
        (
            "integer-only loop and branch",
            quote!(),
            quote!(
                fn f(x: f64, n: usize) -> f64 {
                    let mut k = 0;
                    for i in 0..n {
                        if i % 2 == 0 {
                            k += i;
                        }
                    }
                    x * k as f64
                }
            ),
            true,
        ),
        // Tensor code that is malformed or unsupported.
        (
            "tensor: conv2d with three arguments",
            quote!(),
            quote!(
                fn f(x: &Tensor, w: &Tensor) -> f32 {
                    conv2d(x, w, None).sum().item()
                }
            ),
            false,
        ),
        (
            "tensor: method with the wrong arity",
            quote!(),
            quote!(
                fn f(x: &Tensor) -> f32 {
                    x.matmul().sum().item()
                }
            ),
            false,
        ),
        (
            "tensor: bias neither Some nor None",
            quote!(),
            quote!(
                fn f(x: &Tensor, w: &Tensor, b: &Tensor) -> f32 {
                    conv2d(x, w, b, p).sum().item()
                }
            ),
            false,
        ),
        (
            "tensor: Some with two arguments as the bias",
            quote!(),
            quote!(
                fn f(x: &Tensor, w: &Tensor, b: &Tensor) -> f32 {
                    conv2d(x, w, Some(b, b), p).sum().item()
                }
            ),
            false,
        ),
        (
            "tensor: returned as a tensor",
            quote!(),
            quote!(
                fn f(x: &Tensor) -> &Tensor {
                    x
                }
            ),
            false,
        ),
        (
            "tensor: indexed, compared, remainder",
            quote!(),
            quote!(
                fn f(x: &Tensor, y: Tensor) -> f32 {
                    let a = x % &y;
                    let b = x < y;
                    x[0]
                }
            ),
            false,
        ),
        (
            "tensor: mutable reference parameter and a Vec of tensors",
            quote!(),
            quote!(
                fn f(x: &mut Tensor, ws: Vec<Tensor>) -> f32 {
                    x.sum().item()
                }
            ),
            false,
        ),
        (
            "tensor: in branches, loops, match and early return",
            quote!(),
            quote!(
                fn f(x: &Tensor, w: Tensor, n: usize, s: f32) -> f32 {
                    let mut h = x.clone();
                    for i in 0..n {
                        h = match i {
                            0 => h.matmul(&w).relu(),
                            _ => (&h * s).tanh(),
                        };
                        if h.sum().item() > 10.0 {
                            return h.mean().item();
                        }
                    }
                    while h.numel() > 1 {
                        h = h.sum();
                    }
                    -(h * s - 1.0).item()
                }
            ),
            true,
        ),
        (
            "tensor: a name that is also a tensor function, on scalars",
            quote!(),
            quote!(
                fn f(x: f32, y: f32) -> f32 {
                    relu(x) + sigmoid(y) + sum(x, y)
                }
            ),
            true,
        ),
    ]
}

fn expand_checked(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> (String, Duration) {
    let start = Instant::now();
    let out = std::panic::catch_unwind(|| crate::expand(attr, item)).expect("the macro panicked");
    let took = start.elapsed();
    // Checking the output is as deep as producing it: give it the same stack.
    stacker::grow(crate::EXPANSION_STACK, || {
        assert!(
            syn::parse2::<syn::File>(out.clone()).is_ok(),
            "the expansion is not valid Rust items:\n{out}"
        );
        (out.to_string(), took)
    })
}

#[test]
fn hostile_corpus_never_panics_and_always_says_something() {
    let cases = corpus();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for (name, attr, item, clean) in cases {
        let (out, took) = expand_checked(attr, item);
        let errors = out.contains("compile_error");
        assert_eq!(
            !errors,
            clean,
            "{name}: expected {}, got:\n{out}",
            if clean {
                "a clean expansion"
            } else {
                "an error"
            }
        );
        if clean {
            assert!(out.contains("_grad"), "{name}: no f_grad generated");
        }
        // A guard against hangs and blow-ups, not a timing test (the
        // machine may be loaded): expansions take milliseconds.
        assert!(
            took < Duration::from_secs(10),
            "{name}: expansion took {took:?}"
        );
    }
}

/// rustc expands macros on a thread with an 8 MiB stack; test on one too.
fn on_rustc_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the expansion thread failed");
}

#[test]
fn deep_and_long_functions_expand_quickly() {
    on_rustc_stack(deep_and_long);
}

/// `x` wrapped `depth` times in alternating `(.. * c).sin()` and `(.. + y)`.
fn deep_expr(depth: usize) -> proc_macro2::TokenStream {
    let mut e = quote!(x);
    for k in 0..depth {
        e = if k % 2 == 0 {
            quote!((#e * 1.0001).sin())
        } else {
            quote!((#e + y))
        };
    }
    e
}

fn deep_and_long() {
    // 500 nested parentheses and calls.
    let e = deep_expr(500);
    let (out, took) = expand_checked(quote!(), quote!(fn deep(x: f64, y: f64) -> f64 { #e }));
    assert!(!out.contains("compile_error"));
    assert!(took < Duration::from_secs(10), "deep: {took:?}");

    // 2,000 statements, loops and branches included.
    let mut stmts = vec![quote!(let mut acc = x;)];
    for k in 0..2000 {
        let c = proc_macro2::Literal::f64_unsuffixed(1.0 + k as f64 * 1e-4);
        stmts.push(match k % 4 {
            0 => quote!(acc = (acc * #c).sin() + y;),
            1 => quote!(if acc > 0.0 { acc *= #c; } else { acc -= y; }),
            2 => quote!(for i in 0..2 { acc += (i as f64) * #c * y; }),
            _ => quote!(let t = acc.tanh(); acc = t * #c;),
        });
    }
    let (out, took) = expand_checked(
        quote!(),
        quote!(fn long(x: f64, y: f64) -> f64 { #(#stmts)* acc }),
    );
    assert!(!out.contains("compile_error"));
    // Measured: ~0.7 s in a debug build on this 2-core machine, alone
    // (`cargo test -p autodiff-macros deep_and_long -- --nocapture`).
    eprintln!("2,000-statement function expanded in {took:?}");
    assert!(took < Duration::from_secs(10), "long: {took:?}");
}

#[test]
fn very_deep_nesting_does_not_overflow() {
    // syn alone overflows rustc's 8 MiB stack near depth 800.
    on_rustc_stack(|| {
        let e = deep_expr(3000);
        let (out, took) = expand_checked(quote!(), quote!(fn deep(x: f64, y: f64) -> f64 { #e }));
        assert!(!out.contains("compile_error"));
        eprintln!("3,000-deep expression expanded in {took:?} (debug build)");
    });
}
