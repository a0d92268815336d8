/**
 * For testing `npm start` as a newcomer runs it: a fresh copy of the repository, the command run
 * in its own process group like a terminal's foreground job, and a look into /proc for what it
 * left behind.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { chmod, copyFile, mkdir, readdir, readFile, stat, symlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { waitFor } from './serf-agent.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Copy what a clone would hold once the working tree is committed: tracked files and untracked
 * ones git does not ignore, as they are on disk now. Ignored files (.dev.vars, .serf-edge/,
 * dist/, .wrangler/) stay behind, as in a clone. node_modules is a symlink to this checkout's,
 * in place of `npm ci`.
 */
export async function copyWorkingTree(dest: string): Promise<void> {
  const { stdout } = await promisify(execFile)(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 },
  )
  for (const file of stdout.split('\0').filter(Boolean)) {
    const from = join(ROOT, file)
    const info = await stat(from).catch(() => undefined)
    if (!info?.isFile()) continue // deleted in the working tree, not yet committed
    await mkdir(dirname(join(dest, file)), { recursive: true })
    await copyFile(from, join(dest, file))
    await chmod(join(dest, file), info.mode & 0o777)
  }
  await symlink(join(ROOT, 'node_modules'), join(dest, 'node_modules'))
}

/** A command started as its own process group, with everything it printed. */
export class GroupRun {
  readonly #child: ChildProcess
  #output = ''
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>

  constructor(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.#child = spawn(command, args, {
      ...options,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const keep = (chunk: Buffer) => (this.#output += chunk.toString('utf8'))
    this.#child.stdout!.on('data', keep)
    this.#child.stderr!.on('data', keep)
    this.exited = new Promise((resolve) => this.#child.once('exit', (code, signal) => resolve({ code, signal })))
  }

  /** The process group id: the leader's pid. */
  get pgid(): number {
    return this.#child.pid!
  }

  get output(): string {
    return this.#output
  }

  /** Wait until the output matches; the error carries the output so far. */
  async waitForOutput(pattern: RegExp, timeoutMs = 180_000): Promise<RegExpExecArray> {
    try {
      return await waitFor(
        () => {
          if (this.#child.exitCode !== null) throw new Error(`exited with ${this.#child.exitCode}`)
          return pattern.exec(this.#output) ?? undefined
        },
        { timeoutMs, intervalMs: 200, what: `output matching ${pattern}` },
      )
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- output ---\n${this.#output}`)
    }
  }

  /** Send a signal to the whole group, as a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void {
    process.kill(-this.pgid, signal)
  }
}

/** One process as /proc shows it. */
export interface ProcInfo {
  pid: number
  ppid: number
  pgid: number
  state: string
  command: string
}

/** Every process on the machine, from /proc/<pid>/stat and cmdline. */
export async function processes(): Promise<ProcInfo[]> {
  const all: ProcInfo[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8')
      // The command name is in parentheses and may hold spaces; the fields follow the last ')'.
      const [state, ppid, pgid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')
      all.push({
        pid: Number(name),
        ppid: Number(ppid),
        pgid: Number(pgid),
        state: state!,
        command: cmdline.replaceAll('\0', ' ').trim(),
      })
    } catch {
      // exited while we looked
    }
  }
  return all
}

/** `pid` and everything below it. */
export async function processTree(pid: number): Promise<ProcInfo[]> {
  const all = await processes()
  const tree = all.filter((p) => p.pid === pid)
  for (let i = 0; i < tree.length; i++) tree.push(...all.filter((p) => p.ppid === tree[i]!.pid))
  return tree
}

/** Processes still running (zombies aside) that are one of `pids` or in one of `pgids`. */
export async function survivors(pids: number[], pgids: number[]): Promise<ProcInfo[]> {
  return (await processes()).filter((p) => p.state !== 'Z' && (pids.includes(p.pid) || pgids.includes(p.pgid)))
}
