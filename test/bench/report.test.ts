import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readSeparatePaceRuns, readSeparateQueueRun, renderTemplate, reportFiles } from '../../bench/report.ts'
import type { SavedRun, SeparateQueueRun } from '../../bench/results.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const DOCS = join(ROOT, 'docs')
const MAIN = { json: 'bench-results.json', report: 'BENCHMARKS.md' }
const QUEUE_100K = { json: 'BENCHMARKS-queue-100k-results.json', report: 'BENCHMARKS-queue-100k.md' }

const saved = (json: string): SavedRun => JSON.parse(readFileSync(join(DOCS, json), 'utf8'))
const separateRun = () => readSeparateQueueRun(join(DOCS, MAIN.report))
/** The main report of `run`, beside the committed large queue run unless told otherwise. */
const markdown = (run: SavedRun, separate: SeparateQueueRun | undefined = separateRun()) =>
  reportFiles(run, separate).get('BENCHMARKS.md')!
/** Where a table row or sentence of the report begins, to read one line of it. */
const lineWith = (text: string, start: string) => text.split('\n').find((line) => line.startsWith(start))

describe('docs/ hold exactly what the report code writes from the committed raw numbers', () => {
  it.each([MAIN, QUEUE_100K])('$report, its charts and $json', ({ json, report }) => {
    const files = reportFiles(
      saved(json),
      readSeparateQueueRun(join(DOCS, report)),
      readSeparatePaceRuns(join(DOCS, report)),
    )
    expect([...files.keys()]).toContain(report)
    for (const [name, text] of files) expect(text, `docs/${name}`).toBe(readFileSync(join(DOCS, name), 'utf8'))
  })
})

describe('the report is written as Biome formats Markdown', () => {
  it('a run that takes the rarer wordings needs no formatting either', () => {
    const run = saved(MAIN.json)
    run.results.rateSearch!.best = undefined
    run.results.latency.edge!.errors = ['HTTP 503 | upstream <busy> & retrying']
    run.results.loadAverages = [{ when: 'setup', load: [0.2] }]
    run.results.facts.loadAverage = [0.2]
    const text = markdown(run)
    const biome = resolve(ROOT, 'node_modules/.bin/biome')
    const formatted = execFileSync(biome, ['format', '--stdin-file-path=report.md'], {
      cwd: ROOT,
      input: text,
      encoding: 'utf8',
    })
    expect(formatted).toBe(text)
  })
})

describe('what the report says follows from the numbers', () => {
  it('a queue-only run has no latency or burst section, only the figures it measured', () => {
    const text = reportFiles(saved(QUEUE_100K.json), undefined).get(QUEUE_100K.report)!
    expect(text).not.toMatch(/^## [12]\./m)
    expect(text).toMatch(/^## 4\. Footprint of the bridge$/m)
    expect(text).toMatch(/^## 5\. Scale of the queue$/m)
    expect(lineWith(text, '| 100,000 events queued and drained')).toMatch(/\| 100000 events +\| \*\*met\*\* +\|$/)
  })

  it('without a loss-free step, the burst share is missed and losses are still judged', () => {
    const run = saved(MAIN.json)
    run.results.rateSearch!.best = undefined
    const text = markdown(run)
    expect(lineWith(text, "| burst: serf-edge ≥ 90 % of the cluster's loss-free rate")).toMatch(
      /no loss-free direct-RPC step to compare with +\| \*\*missed\*\*/,
    )
    expect(lineWith(text, '| burst: serf-edge loses nothing')).toMatch(/0 of 1000 missing on some node +\| \*\*met\*\*/)
    expect(text).toContain('\nNo step was loss-free.\n')
    expect(text).not.toContain('Fastest loss-free step')
  })

  it('a separate queue run short of 100,000 events misses the target there', () => {
    const short = { ...separateRun()!, count: 60_000 }
    const text = markdown(saved(MAIN.json), short)
    expect(lineWith(text, '| 100,000 events queued and drained')).toMatch(
      /1000 here; 60,000 in \[the separate run\].*\| \*\*missed\*\* there, not in the 10-minute default run \|$/,
    )
  })

  it('the bridge flags of the run say whether the rate cap bound serf-edge', () => {
    const capped = markdown(saved(MAIN.json))
    expect(capped).toContain(
      '(the default when this was measured)\nlets at most 25 events/s into Serf.\nThe rate cap bound A:',
    )
    const run = saved(MAIN.json)
    run.options.bridgeArgs = ['-max-rate=0']
    run.results.bridgeSettings = '-batch-size=256 -max-event-queue=32 -max-rate=0'
    const uncapped = markdown(run)
    expect(uncapped).toContain('(set for this run)\nsets no rate cap.\nIngest bound A here:')
    expect(uncapped).toContain(
      '`agent-bridge` process (`-batch-size=256 -max-event-queue=32 -max-rate=0`,\n  given `-max-rate=0`)',
    )
  })

  it('a quiet machine is called quiet, a loaded one noisy', () => {
    expect(markdown(saved(MAIN.json))).toContain('**Noise:** the 1-minute load average reached 18.5 on 2 cores:')
    const run = saved(MAIN.json)
    run.results.loadAverages = [{ when: 'setup', load: [0.4] }]
    run.results.facts.loadAverage = [0.4]
    const text = markdown(run)
    expect(text).toContain('\nThe machine was otherwise quiet during this run.\n')
    expect(text).not.toContain('**Noise:**')
  })

  it('failed sends are quoted as they are, without HTML escaping', () => {
    const run = saved(MAIN.json)
    run.results.latency.webhook!.errors = ['exit 1: <stderr> & more']
    expect(markdown(run)).toContain('\nFailed sends: C webhook: exit 1: <stderr> & more\n')
  })

  it('the reproduce block names the command of a run made with flags', () => {
    const text = reportFiles(saved(QUEUE_100K.json), undefined).get(QUEUE_100K.report)!
    const command = 'npm run bench -- --only=queue --queue=100000 --bridge-args=-max-rate=0 --wait-prune'
    expect(text).toContain(
      `\n${command} --report=docs/BENCHMARKS-queue-100k.md    # this run\n` +
        'npm run bench                # the default run (about 10 minutes)\n',
    )
  })
})

describe('renderTemplate', () => {
  it('fills values, shows sections by truth and per item, and escapes nothing', () => {
    const template = '{{a}}{{#list}} [{{n}} of {{a}}]{{/list}}{{#no}}hidden{{/no}}{{^no}} shown{{/no}}'
    expect(renderTemplate(template, { a: '<&>', list: [{ n: 1 }, { n: 2 }], no: undefined })).toBe(
      '<&> [1 of <&>] [2 of <&>] shown',
    )
  })

  it('refuses a name the view lacks, even one inside a section, instead of printing nothing', () => {
    expect(() => renderTemplate('{{typo}}', { value: 1 })).toThrow(/no value named \{\{typo\}\}/)
    expect(() => renderTemplate('{{#rows}}{{typo}}{{/rows}}', { rows: [{ value: 1 }] })).toThrow(/typo/)
    expect(() => renderTemplate('{{a.typo}}', { a: { b: 1 } })).toThrow(/a\.typo/)
  })

  it('accepts a name that is present but undefined, which Mustache prints as nothing', () => {
    expect(renderTemplate('[{{a}}]', { a: undefined })).toBe('[]')
  })
})
