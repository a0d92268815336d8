/**
 * For testing `npm start` as a newcomer runs it: a fresh copy of the repository, the command run
 * in its own process group like a terminal's foreground job, and a look into /proc for what it
 * left behind.
 */
import { execFile } from 'node:child_process'
import { chmod, copyFile, mkdir, stat, symlink } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { OwnedProcess } from '../../scripts/harness/process.ts'
import { type ProcInfo, processes } from '../../scripts/harness/process-table.ts'
import { waitFor } from '../../scripts/harness/wait.ts'

export { type ProcInfo, processTree } from '../../scripts/harness/process-table.ts'

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
  readonly #process: OwnedProcess
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  #exit: { code: number | null; signal: NodeJS.Signals | null } | undefined

  constructor(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) {
    this.#process = new OwnedProcess(command, command, args, { ...options, group: true })
    this.exited = this.#process.exited.then(({ code, signal }) => (this.#exit = { code, signal }))
  }

  /** The process group id: the leader's pid. */
  get pgid(): number {
    return this.#process.pid!
  }

  get output(): string {
    return this.#process.output
  }

  /** Wait until the output matches; the error carries the output so far. */
  async waitForOutput(pattern: RegExp, timeoutMs = 180_000): Promise<RegExpExecArray> {
    try {
      return await waitFor(
        () => {
          if (this.#exit) throw new Error(`exited with ${this.#exit.code}`)
          return pattern.exec(this.output) ?? undefined
        },
        { timeoutMs, intervalMs: 200, what: `output matching ${pattern}` },
      )
    } catch (error) {
      throw new Error(`${(error as Error).message}\n--- output ---\n${this.output}`)
    }
  }

  /** Send a signal to the whole group, as a terminal does on Ctrl-C. */
  signalGroup(signal: NodeJS.Signals): void {
    this.#process.signal(signal)
  }
}

/** Processes still running (zombies aside) that are one of `pids` or in one of `pgids`. */
export function survivors(pids: number[], pgids: number[]): ProcInfo[] {
  return processes().filter((p) => p.state !== 'Z' && (pids.includes(p.pid) || pgids.includes(p.pgid)))
}
