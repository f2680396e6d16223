// Latency statistics for the benchmarks, one definition for all of them.

/** Nearest-rank percentile (p in 0–100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
    const sorted = [...samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function mean(samples: readonly number[]): number {
    return samples.reduce((a, b) => a + b, 0) / samples.length;
}
