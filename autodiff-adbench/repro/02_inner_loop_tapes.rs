// Macro defect 2 (performance): in a loop nest, every element write
// `y[j] += ...` to a local vector pushes the old value on a tape, and so do a
// loop-carried index `li += 1` and the input read `l[li]` it indexes, once per
// innermost iteration: O(reps·d²) tape for O(d) live state. Only the final
// `y` of each outer iteration is read by the reverse sweep (the `+=` adjoint
// needs no old value; `l[li]` can be re-read once `li` is known). The same
// pattern is ADBench's `Qtimesx`, inside GMM's point × component loops.
#![allow(clippy::needless_range_loop)]
use autodiff::grad;

#[grad(wrt(l, x))]
fn tri(l: &[f64], x: &[f64], d: usize, reps: usize) -> f64 {
    let mut y = vec![0.0; d];
    let mut s = 0.0;
    for _r in 0..reps {
        for i in 0..d {
            y[i] = x[i];
        }
        let mut li = 0;
        for i in 0..d {
            for j in i + 1..d {
                y[j] += l[li] * x[i];
                li += 1;
            }
        }
        for i in 0..d {
            s += y[i] * y[i];
        }
    }
    s
}

fn main() {
    let d = 64;
    let l: Vec<f64> = (0..d * (d - 1) / 2).map(|i| (i as f64 * 0.37).sin() * 0.1).collect();
    let x: Vec<f64> = (0..d).map(|i| (i as f64 * 0.71).cos()).collect();
    let reps = 1000;
    let best = |f: &dyn Fn() -> f64| {
        (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                std::hint::black_box(f());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let tp = best(&|| tri(std::hint::black_box(&l), &x, d, reps));
    let tg = best(&|| tri_grad(std::hint::black_box(&l), &x, d, reps).0);
    println!("primal {:.3} ms, grad {:.3} ms, ratio {:.1}", tp * 1e3, tg * 1e3, tg / tp);
}

// Measured (release, 2-core x86-64): primal 0.559 ms, grad 32.8 ms, ratio 58.6.
// Variant without the carried index (`y[j] += l[i * d + j] * x[i]`, `l` d×d):
// primal 0.562 ms, grad 9.37 ms, ratio 16.7 — the `tape_y.push(y[j])` per
// inner iteration alone. With `li`, the expansion also pushes `li` and
// `t = l[li]` per inner iteration (`tape_li`, `tape_t27` in the GMM dump).
