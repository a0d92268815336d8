/** The bench's flags: parsed once into {@link BenchOptions}, with `--quick` sizes for development. */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { PACE_SCENARIOS, type PaceScenario } from './pace.ts'
import type { SystemId } from './systems.ts'

const ROOT = resolve(import.meta.dirname, '..')
export const FIGURES = ['latency', 'burst', 'ingest', 'queue', 'pace'] as const
export type Figure = (typeof FIGURES)[number]
/** The figures a run without `--only` makes: `pace` takes an hour, so it is asked for by name. */
export const DEFAULT_FIGURES: readonly Figure[] = ['latency', 'burst', 'ingest', 'queue']

export const HELP = `Usage: npm run bench -- [options]

  --quick                 small sizes for development (about 3 minutes)
  --samples=N             latency samples per system (default 200)
  --burst=N               events per burst (default 1000; docs/BENCHMARKS.md says why not 10,000)
  --step-size=N           events per step of the direct-RPC rate search (default: --burst)
  --step-rates=R,R,...    rates of that search, events/s (default 50,100,200,400,800)
  --burst-concurrency=N   concurrent senders in the HTTP bursts (default 32)
  --ingest-seconds=N      duration of each ingest run (default 8)
  --concurrency=N,N       concurrent senders of the ingest runs (default 16,64)
  --queue=N               events queued for the queue-scale figure (default 1000)
  --queue-concurrency=N   concurrent senders that queue them (default 64)
  --wait-prune            wait for the edge to prune the drained queue (adds about 12 minutes)
  --only=FIG,FIG          run only some of: ${FIGURES.join(', ')} (default all but pace)
  --pace=ID,ID            scenarios of the pace figure (default all but lan-3-loss, which
                          needs root: it runs alone, in a network namespace dropping UDP):
                          ${PACE_SCENARIOS.map((s) => s.id).join(', ')}
  --pace-events=N         events of every pace scenario instead of its own (10,000 bursts,
                          3,000 with slow handlers, 8,000 queued for them, 6,000
                          queued for 100-ms handlers, a 100,000 backlog)
  --pace-note=TEXT        what else loaded the machine during the pace run, kept with its numbers
  --pace-results=PATH     where pace scenarios are merged in, by id (default
                          docs/BENCHMARKS-pace-results.json); --from-json reads it for the report
  --systems=ID,ID         systems of figures 1 and 2 (default direct,edge,webhook)
  --bridge-args="-F=V ..."  extra agent-bridge flags for A and figure 5 (default: none, its defaults)
  --report=PATH           where the report goes (default docs/BENCHMARKS.md)
  --from-json=PATH        write the report again from a run's *-results.json, measuring nothing
  --keep                  keep the temporary folder with agents' files and logs
`

export interface BenchOptions {
  quick: boolean
  samples: number
  burst: number
  stepSize: number
  stepRates: number[]
  burstConcurrency: number
  ingestSeconds: number
  concurrency: number[]
  queue: number
  queueConcurrency: number
  waitPrune: boolean
  figures: Figure[]
  /** The pace scenarios to run, sizes already applied. */
  pace: PaceScenario[]
  paceResults: string
  paceNote?: string
  systems: SystemId[]
  bridgeArgs: string[]
  report: string
  fromJson?: string
  keep: boolean
  argv: string[]
}

/** @throws {Error} naming the malformed flag */
export function parseOptions(argv: string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      samples: { type: 'string' },
      burst: { type: 'string' },
      'step-size': { type: 'string' },
      'step-rates': { type: 'string' },
      'burst-concurrency': { type: 'string' },
      'ingest-seconds': { type: 'string' },
      concurrency: { type: 'string' },
      queue: { type: 'string' },
      'queue-concurrency': { type: 'string' },
      'wait-prune': { type: 'boolean', default: false },
      only: { type: 'string' },
      pace: { type: 'string' },
      'pace-events': { type: 'string' },
      'pace-results': { type: 'string' },
      'pace-note': { type: 'string' },
      systems: { type: 'string' },
      'bridge-args': { type: 'string' },
      report: { type: 'string' },
      'from-json': { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  if (values.help) return 'help'
  const quick = values.quick!
  const int = (name: string, text: string | undefined, fallback: number) => {
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a whole number ≥ 1, got "${text}"`)
    return value
  }
  const list = (name: string, text: string | undefined, fallback: number[]) =>
    text === undefined ? fallback : text.split(',').map((part) => int(name, part, 0))
  const figures = (values.only?.split(',') ?? [...DEFAULT_FIGURES]) as Figure[]
  const unknown = figures.find((figure) => !FIGURES.includes(figure))
  if (unknown) throw new Error(`--only: unknown figure "${unknown}" (${FIGURES.join(', ')})`)
  const systems = (values.systems?.split(',') ?? ['direct', 'edge', 'webhook']) as SystemId[]
  const stray = systems.find((id) => !['direct', 'edge', 'webhook'].includes(id))
  if (stray) throw new Error(`--systems: unknown system "${stray}" (direct, edge, webhook)`)
  const paceIds = values.pace?.split(',') ?? PACE_SCENARIOS.filter((s) => !s.udpLossPercent).map((s) => s.id)
  const strayPace = paceIds.find((id) => !PACE_SCENARIOS.some((s) => s.id === id))
  if (strayPace)
    throw new Error(`--pace: unknown scenario "${strayPace}" (${PACE_SCENARIOS.map((s) => s.id).join(', ')})`)
  const paceEvents = values['pace-events'] === undefined ? undefined : int('pace-events', values['pace-events'], 0)
  const pace = PACE_SCENARIOS.filter((s) => paceIds.includes(s.id)).map((s) => ({
    ...s,
    events: paceEvents ?? s.events,
  }))
  const losses = new Set(pace.map((s) => s.udpLossPercent))
  if (figures.includes('pace') && losses.size > 1)
    throw new Error('--pace: a scenario with UDP loss runs in a namespace of its own: run it alone')
  if (pace.some((s) => s.udpLossPercent) && figures.includes('pace') && figures.length > 1)
    throw new Error('--pace: a scenario with UDP loss runs with --only=pace (every process sees the loss)')
  const burst = int('burst', values.burst, quick ? 300 : 1000)
  return {
    quick,
    samples: int('samples', values.samples, quick ? 30 : 200),
    burst,
    stepSize: int('step-size', values['step-size'], burst),
    stepRates: list('step-rates', values['step-rates'], [50, 100, 200, 400, 800]),
    burstConcurrency: int('burst-concurrency', values['burst-concurrency'], 32),
    ingestSeconds: int('ingest-seconds', values['ingest-seconds'], quick ? 3 : 8),
    concurrency: list('concurrency', values.concurrency, [16, 64]),
    queue: int('queue', values.queue, quick ? 500 : 1000),
    queueConcurrency: int('queue-concurrency', values['queue-concurrency'], 64),
    waitPrune: values['wait-prune']!,
    figures,
    pace,
    paceNote: values['pace-note'],
    paceResults: resolve(ROOT, values['pace-results'] ?? 'docs/BENCHMARKS-pace-results.json'),
    systems,
    bridgeArgs: values['bridge-args']?.split(/\s+/).filter(Boolean) ?? [],
    report: resolve(ROOT, values.report ?? 'docs/BENCHMARKS.md'),
    fromJson: values['from-json'] ? resolve(ROOT, values['from-json']) : undefined,
    keep: values.keep!,
    argv,
  }
}
