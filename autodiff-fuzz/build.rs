//! Writes `$OUT_DIR/programs.rs`: `AUTODIFF_FUZZ_COUNT` random `#[grad]`
//! programs from `AUTODIFF_FUZZ_SEED`, their instrumented twins and the
//! table `PROGRAMS` that `tests/differential.rs` runs.

#[path = "src/gen.rs"]
#[allow(dead_code)]
mod gen;

/// Default seed and count: what `cargo test` (and CI) runs.
const DEFAULT_SEED: u64 = 20240601;
const DEFAULT_COUNT: usize = 300;

fn main() {
    println!("cargo:rerun-if-env-changed=AUTODIFF_FUZZ_SEED");
    println!("cargo:rerun-if-env-changed=AUTODIFF_FUZZ_COUNT");
    // Read by `#[grad]` as it expands the programs (the shortest loop it
    // distributes, autodiff-macros/src/distribute.rs): a change must rebuild
    // them, so it is written into the file below.
    println!("cargo:rerun-if-env-changed=AUTODIFF_DISTRIBUTE_MIN");
    println!("cargo:rerun-if-changed=src/gen.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let seed = std::env::var("AUTODIFF_FUZZ_SEED")
        .ok()
        .map(|s| s.trim().parse().expect("AUTODIFF_FUZZ_SEED: a u64"))
        .unwrap_or(DEFAULT_SEED);
    let count = std::env::var("AUTODIFF_FUZZ_COUNT")
        .ok()
        .map(|s| s.trim().parse().expect("AUTODIFF_FUZZ_COUNT: a count"))
        .unwrap_or(DEFAULT_COUNT);
    let programs = gen::generate(seed, count);
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("programs.rs");
    let min = std::env::var("AUTODIFF_DISTRIBUTE_MIN").unwrap_or_default();
    let module = format!(
        "// AUTODIFF_DISTRIBUTE_MIN={min}\n{}",
        gen::emit_module(seed, &programs)
    );
    std::fs::write(&out, module).unwrap();
}
