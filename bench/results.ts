/**
 * The raw numbers of one bench run: what bench/run.ts measures, what the report reads and what
 * docs/*-results.json keeps. The runner and the report both depend on this file, not on each other.
 */
import type { BurstRun, RateSearch } from './burst.ts'
import type { IngestRun } from './ingest.ts'
import type { LatencyResult } from './latency.ts'
import type { BenchOptions } from './options.ts'
import type { MachineFacts } from './proc.ts'
import type { QueueScaleResult } from './queue-scale.ts'
import type { SystemId } from './systems.ts'

/** The systems a run compares, in the order the report and its charts show them. */
export const SYSTEMS: readonly SystemId[] = ['edge', 'direct', 'webhook']

export interface BenchResults {
  facts: MachineFacts
  recorder?: string
  webhookVersion?: string
  /** agent-bridge's effective pacing flags in this run. */
  bridgeSettings?: string
  /**
   * How the bench ran the bridge (bench/unit-settings.ts); absent in runs recorded before it ran
   * the bridge as the systemd unit does, from agent-bridge/cli.ts without Node flags.
   */
  bridgeProcess?: { entry: string; nodeArgs: string[]; env: Record<string, string> }
  latency: Partial<Record<SystemId, LatencyResult>>
  bursts: BurstRun[]
  rateSearch?: RateSearch
  ingest: IngestRun[]
  queue?: QueueScaleResult
  loadAverages: { when: string; load: number[] }[]
  /** Wall-clock seconds of each phase, to tell what a larger size would cost. */
  phases: { name: string; seconds: number }[]
  totalSeconds: number
  /** ISO time the measurements ended. */
  finishedAt: string
}

/** One run as docs/*-results.json stores it: the options it ran with and what it measured. */
export interface SavedRun {
  options: BenchOptions
  results: BenchResults
}

/** The queue figure of the separate 100,000-event run, with the bridge flags it ran with. */
export interface SeparateQueueRun extends QueueScaleResult {
  bridgeArgs: string
}
