//! Thread-count control shared by every parallel kernel.
//!
//! Rayon's global pool cannot be resized once built, and the GEMM crate needs the
//! count passed explicitly, so we keep our own pools (one per requested size,
//! built once and cached) and run parallel kernels inside the right one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::ThreadPool;

/// 0 means "not set": use the machine's available parallelism.
static GLOBAL_THREADS: AtomicUsize = AtomicUsize::new(0);

type PoolCache = Mutex<Vec<(usize, Arc<ThreadPool>)>>;

fn pools() -> &'static PoolCache {
    static POOLS: OnceLock<PoolCache> = OnceLock::new();
    POOLS.get_or_init(|| Mutex::new(Vec::new()))
}

fn pool(n: usize) -> Arc<ThreadPool> {
    // A poisoned lock only means another thread panicked while holding it; the
    // cache is still a valid list of pools.
    let mut cache = pools().lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, p)) = cache.iter().find(|(k, _)| *k == n) {
        return Arc::clone(p);
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(move |i| format!("autodiff-{n}-{i}"))
            .build()
            .expect("autodiff-runtime: could not spawn worker threads"),
    );
    cache.push((n, Arc::clone(&p)));
    p
}

fn default_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Sets the number of threads kernels use outside [`with_threads`].
///
/// # Panics
/// If `n` is 0.
pub fn set_num_threads(n: usize) {
    assert!(n > 0, "set_num_threads: thread count must be at least 1");
    GLOBAL_THREADS.store(n, Ordering::Relaxed);
}

/// The number of threads a kernel started from the calling thread would use.
pub fn num_threads() -> usize {
    if rayon::current_thread_index().is_some() {
        // Inside one of our pools (or a caller's rayon pool): respect its size.
        return rayon::current_num_threads();
    }
    match GLOBAL_THREADS.load(Ordering::Relaxed) {
        0 => default_threads(),
        n => n,
    }
}

/// Runs `f` with every kernel it calls limited to `n` threads.
///
/// `f` runs on a worker of a cached `n`-thread pool, so it must be `Send`. The pool
/// is built on first use of each `n` and then reused, so calling this in a loop is
/// cheap.
///
/// # Panics
/// If `n` is 0, or if `f` panics (the panic is propagated).
pub fn with_threads<R: Send>(n: usize, f: impl FnOnce() -> R + Send) -> R {
    assert!(n > 0, "with_threads: thread count must be at least 1");
    pool(n).install(f)
}

/// Runs `f(threads)` in a context where rayon uses `threads` workers; kernels
/// call this once at their top and pass `threads` on to GEMM.
pub(crate) fn parallel<R: Send>(f: impl FnOnce(usize) -> R + Send) -> R {
    let n = num_threads();
    if n == 1 || rayon::current_thread_index().is_some() {
        f(n)
    } else {
        pool(n).install(|| f(n))
    }
}

/// GEMM's parallelism setting for `threads` workers.
pub(crate) fn gemm_parallelism(threads: usize) -> gemm::Parallelism {
    if threads <= 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    }
}
