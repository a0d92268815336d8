/**
 * Turns one run's results into docs/BENCHMARKS.md, SVG charts beside it and the raw numbers as
 * JSON. The words are bench/report.md.tmpl; the values it prints come from report-view.ts and
 * report-figures.ts, every verdict from report-verdicts.ts: nothing in the report is typed by hand,
 * except the idle-cluster section of docs/BENCHMARKS.md, measured apart (wake-latency.config.mts)
 * and priced from Cloudflare's published prices.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import Mustache from 'mustache'
import { alignTables } from './markdown-tables.ts'
import type { BenchOptions } from './options.ts'
import { type PaceResults, readPaceResults } from './pace-results.ts'
import { renderCharts } from './report-charts.ts'
import { type ReportContext, reportView } from './report-view.ts'
import type { BenchResults, SavedRun, SeparateQueueRun } from './results.ts'

const TEMPLATE = readFileSync(new URL('./report.md.tmpl', import.meta.url), 'utf8')
/** The raw numbers of the separate large queue run, which the main report links to. */
const SEPARATE_QUEUE_RUN = 'BENCHMARKS-queue-100k-results.json'
/** The pace figure's scenarios, measured in runs of their own (bench/pace-results.ts). */
const PACE_RESULTS = 'BENCHMARKS-pace-results.json'

/** Write the report, its charts and its JSON beside `o.report`; returns the paths written. */
export async function writeReport(r: BenchResults, o: BenchOptions): Promise<string[]> {
  const dir = dirname(o.report)
  await mkdir(dir, { recursive: true })
  const written: string[] = []
  const files = reportFiles({ options: o, results: r }, readSeparateQueueRun(o.report), readSeparatePaceRuns(o.report))
  for (const [name, text] of files) {
    await writeFile(join(dir, name), text)
    written.push(join(dir, name))
  }
  return written
}

/**
 * Every file of one run's report, name → text, in the order they are written: the charts, the
 * raw numbers, then the report itself.
 */
export function reportFiles(
  run: SavedRun,
  separateQueueRun: SeparateQueueRun | undefined,
  paceRuns?: PaceResults,
): Map<string, string> {
  const name = basename(run.options.report)
  const prefix = name === 'BENCHMARKS.md' ? 'bench' : basename(name, '.md')
  const charts = renderCharts(run.results, prefix)
  const markdown = renderReport(run, { prefix, charts: Object.keys(charts), separateQueueRun, paceRuns })
  return new Map([
    ...Object.entries(charts),
    [`${prefix}-results.json`, `${JSON.stringify(run, null, 2)}\n`],
    [name, markdown],
  ])
}

/**
 * The report's Markdown: the template filled from {@link reportView}, tables padded.
 * @throws {Error} when the template names a value the view does not have
 */
export function renderReport(run: SavedRun, context: ReportContext): string {
  return alignTables(renderTemplate(TEMPLATE, reportView(run, context)))
}

/**
 * Mustache without HTML escaping and without its silence about unknown names: a misspelt
 * placeholder is an error, not an empty table cell.
 * @example renderTemplate('{{a}} & {{b.c}}', { a: '<1>', b: { c: 2 } }) === '<1> & 2'
 */
export function renderTemplate(template: string, view: object): string {
  return Mustache.render(template, new StrictContext(view), {}, { escape: String })
}

class StrictContext extends Mustache.Context {
  override push(view: unknown): Mustache.Context {
    return new StrictContext(view, this)
  }

  override lookup(name: string): unknown {
    if (name !== '.' && !this.#defines(name)) throw new Error(`bench/report.md.tmpl: no value named {{${name}}}`)
    return super.lookup(name)
  }

  /** Whether this context or an outer one has `name` (a dotted path), as Mustache resolves it. */
  #defines(name: string): boolean {
    const [head = '', ...path] = name.split('.')
    for (let context: Mustache.Context | undefined = this; context; context = context.parent) {
      if (!isRecord(context.view) || !(head in context.view)) continue
      let value = context.view[head]
      for (const key of path) {
        if (!isRecord(value) || !(key in value)) return false
        value = value[key]
      }
      return true
    }
    return false
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null

/** The queue figure of the separate large run beside the main report, if that run was made. */
export function readSeparateQueueRun(report: string): SeparateQueueRun | undefined {
  const file = join(dirname(report), SEPARATE_QUEUE_RUN)
  if (basename(report) !== 'BENCHMARKS.md' || !existsSync(file)) return undefined
  const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedRun
  return saved.results.queue ? { ...saved.results.queue, bridgeArgs: saved.options.bridgeArgs.join(' ') } : undefined
}

/** The pace scenarios beside the main report, if any were measured. */
export function readSeparatePaceRuns(report: string): PaceResults | undefined {
  if (basename(report) !== 'BENCHMARKS.md') return undefined
  return readPaceResults(join(dirname(report), PACE_RESULTS))
}
