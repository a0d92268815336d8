/** Order statistics for benchmark samples, and the one clock every figure reads. */

/** One summary of a set of samples (nearest-rank percentiles). */
export interface Summary {
  n: number
  min: number
  median: number
  p99: number
  max: number
  mean: number
}

/**
 * Milliseconds on CLOCK_MONOTONIC, the clock the compiled recorder stamps arrivals with, so a
 * sender's start and a handler's arrival can be subtracted across processes.
 */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6
}

/** Nearest-rank percentile `p` (0..100) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

/** @example summarize([3, 1, 2]).median === 2 */
export function summarize(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const sum = sorted.reduce((total, value) => total + value, 0)
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    median: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  }
}

/** A number for a table: fixed digits, or an em dash when there is none. */
export function fmt(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits)
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
