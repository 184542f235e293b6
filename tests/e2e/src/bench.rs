//! Tiny latency statistics for the benchmarks (they measure; tests never assert on time).

use std::time::{Duration, Instant};

/// Runs `operation` `runs` times after `warmup` unmeasured runs and prints count, mean, p50, p99 and the
/// sequential rate.
pub async fn measure<F, Fut>(name: &str, warmup: usize, runs: usize, mut operation: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..warmup {
        operation().await;
    }
    let mut samples = Vec::with_capacity(runs);
    let started = Instant::now();
    for _ in 0..runs {
        let begin = Instant::now();
        operation().await;
        samples.push(begin.elapsed());
    }
    let total = started.elapsed();
    report(name, &mut samples, total);
}

/// Prints the statistics of `samples`.
pub fn report(name: &str, samples: &mut [Duration], total: Duration) {
    samples.sort();
    let percentile = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name:<40} n={:<6} mean={:>9.3?} p50={:>9.3?} p99={:>9.3?} rate={:>8.1}/s",
        samples.len(),
        mean,
        percentile(0.50),
        percentile(0.99),
        samples.len() as f64 / total.as_secs_f64()
    );
}
