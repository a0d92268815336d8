/**
 * A process this one started and is responsible for stopping: by pid, or by process group for
 * one that forks (`wrangler dev` runs workerd and esbuild below it, which only a signal to the
 * whole group reaches). Its output is kept for a failure report; none outlives this process.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

/** How a process ended. */
export interface ProcessExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the command could not be run at all. */
  error?: Error
}

export interface OwnedProcessOptions {
  cwd?: string
  /** The whole environment of the process; default this one's. */
  env?: Record<string, string | undefined>
  /** Run it as the leader of a process group of its own, and signal the whole group. */
  group?: boolean
  /** Called with every line it writes, stdout and stderr alike. */
  onLine?: (line: string) => void
  /** How much of its output `output` keeps, in characters (default 4 MiB). */
  keepChars?: number
}

const owned = new Set<OwnedProcess>()

export class OwnedProcess {
  readonly name: string
  readonly exited: Promise<ProcessExit>
  readonly #child: ChildProcess
  readonly #group: boolean
  readonly #keepChars: number
  #output = ''
  #ended = false

  /** Spawn `command` with `args`; stdin is closed, stdout and stderr are read. */
  constructor(name: string, command: string, args: string[], options: OwnedProcessOptions = {}) {
    this.name = name
    this.#group = options.group ?? false
    this.#keepChars = options.keepChars ?? 4 * 1024 * 1024
    this.#child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: this.#group,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      stream.on('data', (chunk: Buffer) => this.#keep(chunk.toString('utf8')))
      if (options.onLine) createInterface({ input: stream, crlfDelay: Infinity }).on('line', options.onLine)
    }
    this.exited = new Promise<ProcessExit>((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }))
      this.#child.once('error', (error) => resolve({ code: null, signal: null, error }))
    }).then((exit) => {
      this.#ended = true
      // A pid is free for reuse once its process ended; a group id only once the group is empty.
      if (!this.#group) owned.delete(this)
      return exit
    })
    owned.add(this)
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  get running(): boolean {
    return !this.#ended
  }

  /** What it wrote so far (the last `keepChars`, cut at a line start). */
  get output(): string {
    return this.#output
  }

  /** The last `lines` lines of its output, for a report when it fails. */
  tail(lines = 40): string {
    return this.#output.trimEnd().split('\n').slice(-lines).join('\n')
  }

  /** Send `signal` to the process, or to its whole group. */
  signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid
    if (pid === undefined) return
    try {
      process.kill(this.#group ? -pid : pid, signal)
    } catch {
      // already gone
    }
  }

  /**
   * SIGTERM, then SIGKILL if it has not ended after `timeoutMs`; resolves once it has. A group
   * is waited for until it is empty, also when its leader had already exited (workerd
   * outliving wrangler).
   */
  async stop(timeoutMs = 5_000): Promise<ProcessExit> {
    if (this.#group) await this.#stopGroup(timeoutMs)
    else if (this.running) {
      this.signal('SIGTERM')
      const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs)
      await this.exited
      clearTimeout(timer)
    }
    owned.delete(this)
    return this.exited
  }

  /** SIGKILL now and wait for the exit: the process gets no chance to clean up. */
  async kill(): Promise<ProcessExit> {
    this.killNow()
    owned.delete(this)
    return this.exited
  }

  /** SIGKILL now without waiting: for when this process is going away itself. */
  killNow(): void {
    this.signal('SIGKILL')
  }

  async #stopGroup(timeoutMs: number): Promise<void> {
    const pgid = this.#child.pid
    if (pgid === undefined || !groupAlive(pgid)) return
    this.signal('SIGTERM')
    const deadline = Date.now() + timeoutMs
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(50)
    if (groupAlive(pgid)) this.signal('SIGKILL')
    // Bounded: an orphan's zombie stays in the group until init reaps it.
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(20)
    await this.exited
  }

  #keep(text: string): void {
    this.#output += text
    if (this.#output.length <= this.#keepChars) return
    const cut = this.#output.length - this.#keepChars / 2
    const lineStart = this.#output.indexOf('\n', cut) + 1
    this.#output = this.#output.slice(lineStart > 0 ? lineStart : cut)
  }
}

// Signal 0 to a group succeeds while any member, zombies included, is in it.
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// Last resort for a test worker, bench or npm start that dies on an exception nobody caught.
process.once('exit', () => {
  for (const child of owned) child.killNow()
})
