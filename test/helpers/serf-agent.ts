/**
 * Starts real `serf agent` processes on loopback for tests, each with an event handler that
 * records every user event it runs for, and stops every one of them by pid.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freeGossipPort } from '../../scripts/dev/net.ts'

const SERF = process.env.SERF_BIN ?? 'serf'
const EVENTS_FILE_ENV = 'SERF_TEST_EVENTS_FILE'
const LOG_CAP = 4 * 1024 * 1024
const running = new Set<SerfAgent>()
const portsHandedOut = new Set<number>()

export interface SerfClusterOptions {
  /** Parent directory; node `i` lives in `dir/node-i`. */
  dir: string
  /** Number of agents, default 3. */
  nodes?: number
  /** `rpc_auth` token for every agent. */
  rpcAuth?: string
  /** `user_event_size_limit` for every agent (Serf's default is 512). */
  userEventSizeLimit?: number
  /**
   * An `event_handlers` entry of your own (e.g. `user:deploy=/path/deploy.sh`) instead of the
   * recorder; `readEvents` then stays empty.
   */
  eventHandlerScript?: string
  /** `log_level`, default `debug` (`received old event` is logged at WARN). */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'err'
  /** Bound on waiting for the cluster to form, default 30 s. */
  readyTimeoutMs?: number
}

/** One line of the recorder: a user event as one node's handler saw it. */
export interface RecordedUserEvent {
  name: string
  ltime: number
  /**
   * The payload: stdin without its last newline, which Serf adds to every non-empty payload not
   * ending in one (so a payload that did end in a newline loses it here; `stdin` keeps it).
   */
  payload: Uint8Array
  /** Exactly what the handler read on stdin. */
  stdin: Uint8Array
}

export interface SerfCluster {
  agents: SerfAgent[]
  /** Stops every agent of this cluster. */
  stop(): Promise<void>
}

/** Polls `check` until it returns neither `undefined` nor `false`; throws at the timeout. */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/**
 * A TCP+UDP port on 127.0.0.1 that was free a moment ago (gossip needs both), never one this
 * process handed out before, so agents started together cannot pick the same port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await freeGossipPort()
    if (!portsHandedOut.has(port)) {
      portsHandedOut.add(port)
      return port
    }
  }
}

interface SerfAgentFields {
  name: string
  dir: string
  bindPort: number
  rpcPort: number
  rpcAuth?: string
}

/** A real `serf agent` with fixed ports, so it can be stopped and started again in place. */
export class SerfAgent {
  readonly name: string
  readonly dir: string
  readonly bindAddr: string
  readonly rpcAddr: string
  readonly rpcAuth: string | undefined
  readonly eventsFile: string
  readonly configFile: string
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #logs = ''

  constructor(fields: SerfAgentFields) {
    this.name = fields.name
    this.dir = fields.dir
    this.bindAddr = `127.0.0.1:${fields.bindPort}`
    this.rpcAddr = `127.0.0.1:${fields.rpcPort}`
    this.rpcAuth = fields.rpcAuth
    this.eventsFile = join(fields.dir, 'events.tsv')
    this.configFile = join(fields.dir, 'agent.json')
  }

  /** Everything the agent wrote to stdout and stderr (the last 4 MiB). */
  get logs(): string {
    return this.#logs
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    return this.#child !== undefined
  }

  /** Spawns the agent, joining `peers` (bind addresses), and waits until its RPC port answers. */
  async start(peers: string[] = [], timeoutMs = 15_000): Promise<void> {
    if (this.#child) throw new Error(`${this.name} is already running (pid ${this.pid})`)
    const args = ['agent', `-config-file=${this.configFile}`, ...peers.map((a) => `-join=${a}`)]
    const env = { ...process.env, [EVENTS_FILE_ENV]: this.eventsFile }
    const child = spawn(SERF, args, { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.#child = child
    running.add(this)
    const append = (chunk: Buffer) => {
      this.#logs += chunk.toString('utf8')
      if (this.#logs.length > LOG_CAP) this.#logs = this.#logs.slice(-LOG_CAP / 2)
    }
    child.stdout?.on('data', append)
    child.stderr?.on('data', append)
    this.#exited = new Promise((resolve) => {
      const ended = (note: string) => {
        append(Buffer.from(`\n==> [harness] ${this.name} ${note}\n`))
        if (this.#child === child) this.#child = undefined
        running.delete(this)
        resolve()
      }
      child.once('exit', (code, signal) => ended(`exited (code ${code}, signal ${signal})`))
      child.once('error', (error) => ended(`could not run ${SERF}: ${error.message}`))
    })
    try {
      await waitFor(
        async () => {
          if (this.#child !== child) {
            throw new Error(`${this.name} exited before its RPC port answered`)
          }
          return portAnswers(this.rpcAddr)
        },
        { timeoutMs, what: `${this.name} RPC at ${this.rpcAddr}` },
      )
    } catch (error) {
      await this.kill()
      throw new Error(`${(error as Error).message}\n--- ${this.name} log ---\n${this.logs}`)
    }
  }

  /** SIGTERM, await the exit; SIGKILL if it takes longer than `timeoutMs`. */
  async stop(timeoutMs = 5_000): Promise<void> {
    const child = this.#child
    if (!child) return
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await this.#exited
    clearTimeout(timer)
  }

  /** SIGKILL, await the exit: the agent dies without a word to the cluster. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL')
    await this.#exited
  }

  /** Every user event this node's recorder saw, in the order its handler ran. */
  async readEvents(): Promise<RecordedUserEvent[]> {
    const text = await readFile(this.eventsFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return ''
      throw error
    })
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [ltime, name, encoded = ''] = line.split('\t')
        const stdin = new Uint8Array(Buffer.from(encoded, 'base64'))
        const payload = stdin.at(-1) === 0x0a ? stdin.subarray(0, -1) : stdin
        return { name, ltime: Number(ltime), payload, stdin }
      })
  }

  /** Names of the members this agent sees as `alive`, via the real `serf members` command. */
  async aliveMembers(): Promise<string[]> {
    const args = ['members', `-rpc-addr=${this.rpcAddr}`, '-status=alive', '-format=json']
    if (this.rpcAuth) args.push(`-rpc-auth=${this.rpcAuth}`)
    const { stdout } = await promisify(execFile)(SERF, args, { timeout: 5_000 })
    const { members } = JSON.parse(stdout) as { members: { name: string }[] }
    return members.map((member) => member.name).sort()
  }
}

/**
 * Starts `nodes` agents on 127.0.0.1 that join each other, and waits until every agent sees
 * every other one alive.
 * @example
 * const cluster = await startSerfCluster({ dir: await mkdtemp(join(tmpdir(), 'serf-')) })
 * afterAll(() => stopAll())
 */
export async function startSerfCluster(options: SerfClusterOptions): Promise<SerfCluster> {
  const { dir, nodes = 3, readyTimeoutMs = 30_000 } = options
  const agents: SerfAgent[] = []
  for (let i = 0; i < nodes; i++) {
    const nodeDir = join(dir, `node-${i}`)
    await mkdir(nodeDir, { recursive: true })
    const agent = new SerfAgent({
      name: `node-${i}`,
      dir: nodeDir,
      bindPort: await freePort(),
      rpcPort: await freePort(),
      rpcAuth: options.rpcAuth,
    })
    await writeConfig(agent, options)
    agents.push(agent)
  }
  const cluster: SerfCluster = { agents, stop: () => stopAgents(agents) }
  try {
    await agents[0].start()
    await Promise.all(agents.slice(1).map((agent) => agent.start([agents[0].bindAddr])))
    const all = agents
      .map((agent) => agent.name)
      .sort()
      .join(',')
    await waitFor(
      async () => {
        const views = await Promise.all(agents.map((agent) => agent.aliveMembers()))
        return views.every((names) => names.join(',') === all)
      },
      { timeoutMs: readyTimeoutMs, what: `${nodes} agents to see each other alive` },
    )
  } catch (error) {
    const logs = agents.map((agent) => `--- ${agent.name} log ---\n${agent.logs}`).join('\n')
    await cluster.stop()
    throw new Error(`${(error as Error).message}\n${logs}`)
  }
  return cluster
}

/** Stops every agent this process started and that still runs; call it in `afterAll`. */
export function stopAll(): Promise<void> {
  return stopAgents([...running])
}

async function stopAgents(agents: SerfAgent[]): Promise<void> {
  await Promise.all(agents.map((agent) => agent.stop()))
}

// Last resort for a crashed test worker: no agent outlives the process that started it.
process.once('exit', () => {
  for (const agent of running) {
    try {
      if (agent.pid) process.kill(agent.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})

/**
 * The recorder: one line per user event, `LTIME<TAB>name<TAB>base64(stdin)`, so binary payloads
 * survive. Inline rather than a script file: Serf runs it with `/bin/sh -c`, and every process
 * counts when a burst of events runs the handler once per event on every node.
 */
const RECORDER =
  'user=p=$(base64 -w0); ' +
  `printf '%s\\t%s\\t%s\\n' "$SERF_USER_LTIME" "$SERF_USER_EVENT" "$p" >> "$${EVENTS_FILE_ENV}"`

async function writeConfig(agent: SerfAgent, options: SerfClusterOptions): Promise<void> {
  const config = {
    node_name: agent.name,
    bind: agent.bindAddr,
    rpc_addr: agent.rpcAddr,
    profile: 'local',
    log_level: options.logLevel ?? 'debug',
    event_handlers: [options.eventHandlerScript ?? RECORDER],
    ...(options.rpcAuth ? { rpc_auth: options.rpcAuth } : {}),
    ...(options.userEventSizeLimit ? { user_event_size_limit: options.userEventSizeLimit } : {}),
  }
  await writeFile(agent.configFile, JSON.stringify(config, null, 2))
}

function portAnswers(address: string): Promise<boolean> {
  const [host, port] = address.split(':')
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port) })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
