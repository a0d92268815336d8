/**
 * What the kernel says about processes, from /proc: state, parent, group, CPU ticks and
 * command line, and the tree below a process. Needs no tools beyond Linux itself.
 */
import { readdirSync, readFileSync } from 'node:fs'

/** The fields of `/proc/<pid>/stat` the harness and the bench read. */
export interface ProcStat {
  pid: number
  /** The command name, as `ps -o comm` shows it. */
  comm: string
  /** `R`, `S`, `Z` (zombie), … */
  state: string
  ppid: number
  pgid: number
  /** CPU time in clock ticks: user, system, and that of children already reaped. */
  utime: number
  stime: number
  cutime: number
  cstime: number
}

/** One process as /proc shows it, with its command line. */
export interface ProcInfo extends ProcStat {
  command: string
}

/** `/proc/<pid>/stat`, or `null` once the process is gone. */
export function procStat(pid: number): ProcStat | null {
  let text: string
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // comm may hold spaces and parentheses; the fields after the last ')' are plain.
  const close = text.lastIndexOf(')')
  const rest = text.slice(close + 2).split(' ')
  const field = (n: number) => rest[n - 3]!
  return {
    pid,
    comm: text.slice(text.indexOf('(') + 1, close),
    state: field(3),
    ppid: Number(field(4)),
    pgid: Number(field(5)),
    utime: Number(field(14)),
    stime: Number(field(15)),
    cutime: Number(field(16)),
    cstime: Number(field(17)),
  }
}

/** Every process on the machine, with its command line. */
export function processes(): ProcInfo[] {
  const all: ProcInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (!stat) continue // exited while we looked
    all.push({ ...stat, command: commandLine(stat.pid) })
  }
  return all
}

/** `pid` and every live process below it, parents before children. */
export function processTree(pid: number): ProcInfo[] {
  const all = processes()
  const tree = all.filter((p) => p.pid === pid)
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid))
  return tree
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
  } catch {
    return ''
  }
}
