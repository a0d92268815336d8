/**
 * The pace figure's raw numbers, docs/BENCHMARKS-pace-results.json: one record per scenario,
 * replaced by id when that scenario runs again, so scenarios measured in separate runs (the
 * lossy one runs alone, in a network namespace) end up side by side.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { PaceRun } from './pace.ts'
import type { MachineFacts } from './proc.ts'

export interface PaceRecord {
  run: PaceRun
  /** The machine when it ran, load included. */
  facts: MachineFacts
  /** The bench's command-line flags of that run. */
  argv: string[]
  /** What else ran on the machine, as the operator of the run said (`--pace-note`), if anything. */
  note?: string
}

export interface PaceResults {
  records: PaceRecord[]
}

export function readPaceResults(file: string): PaceResults | undefined {
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as PaceResults
}

/** Merge `record` into `file` (replacing its scenario's previous record); keeps scenario order. */
export async function savePaceRecord(file: string, record: PaceRecord, order: readonly string[]): Promise<void> {
  const saved = readPaceResults(file) ?? { records: [] }
  const records = saved.records.filter((r) => r.run.scenario.id !== record.run.scenario.id)
  records.push(record)
  const rank = (id: string) => (order.includes(id) ? order.indexOf(id) : order.length)
  records.sort((a, b) => rank(a.run.scenario.id) - rank(b.run.scenario.id))
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify({ records }, null, 2)}\n`)
}
