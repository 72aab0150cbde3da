//! Diagnostics: every unsupported construct and attribute misuse is a
//! `compile_error!` at the construct's span, never a macro panic. The
//! expected messages are the `.stderr` files beside each case.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
