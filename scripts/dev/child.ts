/**
 * A process `npm start` owns. Each runs in its own process group, for two reasons: Ctrl-C in the
 * terminal then reaches only `npm start`, which stops the children in order (the bridge must
 * release its lease while the edge still runs); and `wrangler dev` spawns workerd and esbuild,
 * which only a signal to the whole group reaches.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface DevChildOptions {
  cwd: string
  env: Record<string, string | undefined>
  /** Every line the child writes, stdout and stderr alike. */
  onLine: (line: string) => void
}

/** How a child ended. */
export interface ChildExit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the command could not be run at all. */
  error?: Error
}

const TAIL_LINES = 40

export class DevChild {
  readonly name: string
  readonly exited: Promise<ChildExit>
  readonly #child: ChildProcess
  readonly #tail: string[] = []
  #ended = false

  constructor(name: string, command: string, args: string[], options: DevChildOptions) {
    this.name = name
    this.#child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    for (const stream of [this.#child.stdout!, this.#child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        this.#tail.push(line)
        if (this.#tail.length > TAIL_LINES) this.#tail.shift()
        options.onLine(line)
      })
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => resolve({ code, signal }))
      this.#child.once('error', (error) => resolve({ code: null, signal: null, error }))
    }).then((exit) => {
      this.#ended = true
      return exit as ChildExit
    })
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  get running(): boolean {
    return !this.#ended
  }

  /** The last lines of output, for a report when the child fails. */
  get tail(): string {
    return this.#tail.join('\n')
  }

  /**
   * SIGTERM the group and wait for it to empty; SIGKILL what is left after `timeoutMs`. Also
   * sweeps the group of a child that already exited (workerd outliving wrangler).
   */
  async stop(timeoutMs: number): Promise<void> {
    const pgid = this.#child.pid
    if (pgid === undefined || !groupAlive(pgid)) return
    signalGroup(pgid, 'SIGTERM')
    const deadline = Date.now() + timeoutMs
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(50)
    if (groupAlive(pgid)) signalGroup(pgid, 'SIGKILL')
    // Bounded: an orphan's zombie stays in the group until init reaps it.
    for (let i = 0; i < 100 && groupAlive(pgid); i++) await sleep(20)
    await this.exited
  }

  /** SIGKILL the whole group now: the last resort when `npm start` itself is going away. */
  killNow(): void {
    if (this.#child.pid !== undefined) signalGroup(this.#child.pid, 'SIGKILL')
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal)
  } catch {
    // the group is gone
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
