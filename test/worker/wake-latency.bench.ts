/**
 * Wake latency in workerd, without wrangler's local proxy: how long after a sender's POST starts
 * does a bridge's waiting long-poll answer with the event. `bench/wake-latency.config.mts` runs
 * it (never part of `npm test`); docs/BENCHMARKS.md reports the figures.
 */
import { expect, it } from 'vitest'
import type { PollResponse } from '../../protocol/wire.ts'
import { bridge, fire } from './helpers.ts'

const SAMPLES = 200
/** Long enough for the poll to be waiting when the event is posted, on a loaded machine too. */
const SETTLE_MS = 50

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Nearest-rank percentile `p` of ascending `sorted`, as bench/stats.ts computes it. */
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!

function summary(name: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b)
  const [median, p99] = [percentile(sorted, 50), percentile(sorted, 99)]
  return `${name}: median ${median.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`
}

it(`a waiting poll answers an event posted to an idle cluster (${SAMPLES} samples)`, async () => {
  const answered: number[] = []
  const accepted: number[] = []
  let after = 0
  for (let i = 0; i < SAMPLES; i++) {
    const waiting = bridge('wake-bench', 'poll', { bridgeId: 'bench', after, limit: 10, waitMs: 20_000 })
    await sleep(SETTLE_MS)
    const start = performance.now()
    const posted = fire('wake-bench', { name: 'wake', payload: String(i) }).then(() => performance.now() - start)
    const res = await waiting
    answered.push(performance.now() - start)
    accepted.push(await posted)
    const page = (await res.json()) as PollResponse
    expect(page.events.map((e) => e.payloadBase64)).toEqual([btoa(String(i))])
    after = page.events.at(-1)!.sequence
  }
  console.log(summary('POST event → poll answered', answered))
  console.log(summary('POST event → 202', accepted))
  const lag = answered.map((t, i) => t - accepted[i]!)
  console.log(summary('202 → poll answered', lag))
})
