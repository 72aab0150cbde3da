//! Prints generated programs: `cargo run -p autodiff-fuzz --example show -- SEED COUNT [K]`
//! prints program `K` with everything it calls (all programs without `K`),
//! exactly as the differential test compiles them for that seed and count.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seed: u64 = args.first().map_or(20240601, |s| s.parse().expect("SEED"));
    let count: usize = args.get(1).map_or(300, |s| s.parse().expect("COUNT"));
    let programs = autodiff_fuzz::generate(seed, count);
    match args.get(2) {
        Some(k) => {
            let k: usize = k.trim_start_matches('p').parse().expect("K");
            println!("{}", autodiff_fuzz::gen::full_source(&programs, k));
        }
        None => {
            for p in &programs {
                println!("{}", p.source);
            }
        }
    }
}
