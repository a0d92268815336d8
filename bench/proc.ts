/**
 * What the kernel says about a process (CPU seconds, peak RSS, descendants) and about the
 * machine, read from /proc so the bench needs no extra tools.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { processTree, procStat } from '../scripts/harness/process-table.ts'

const ROOT = resolve(import.meta.dirname, '..')
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** User + system CPU seconds the process itself used so far (0 once it is gone). */
export function cpuSeconds(pid: number): number {
  const stat = procStat(pid)
  return stat ? (stat.utime + stat.stime) / TICKS : 0
}

/** CPU seconds of the process's children that it has already reaped (cutime + cstime). */
export function reapedChildrenCpuSeconds(pid: number): number {
  const stat = procStat(pid)
  return stat ? (stat.cutime + stat.cstime) / TICKS : 0
}

/** A `/proc/<pid>/status` field in KiB (`VmHWM` is the peak resident set size). */
export function statusKiB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}

/** Every live process below `pid`, with its command name. */
export function descendants(pid: number): { pid: number; comm: string }[] {
  return processTree(pid)
    .slice(1)
    .map(({ pid, comm }) => ({ pid, comm }))
}

/** The facts a reader needs to compare these numbers with their own. */
export interface MachineFacts {
  cpuModel: string
  cores: number
  memoryGiB: number
  kernel: string
  node: string
  serf: string
  workerd: string
  wrangler: string
  webhook: string
  loadAverage: number[]
}

export function machineFacts(webhookVersion = 'not used'): MachineFacts {
  const run = (file: string, args: string[]) => {
    try {
      return execFileSync(file, args, { encoding: 'utf8', timeout: 10_000 }).trim()
    } catch (error) {
      return `unknown (${(error as Error).message.split('\n')[0]})`
    }
  }
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
        .version
    } catch {
      return 'unknown'
    }
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: totalmem() / 2 ** 30,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    serf: run(process.env.SERF_BIN ?? 'serf', ['version']).split('\n')[0]!,
    workerd: pkg('workerd'),
    wrangler: pkg('wrangler'),
    webhook: webhookVersion,
    loadAverage: loadavg(),
  }
}
