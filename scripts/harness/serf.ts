/**
 * Real `serf agent` processes on loopback, each with an event handler that records every user
 * event it runs for (scripts/harness/recorder.ts), joined into a cluster; every one stopped by pid.
 */
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { GossipProfile } from '../../agent-bridge/gossip-limits.ts'
import { freePort, portAnswers } from './net.ts'
import { OwnedProcess } from './process.ts'
import { EVENTS_FILE_ENV, RECORDER_HANDLER, type RecordedUserEvent, readRecords } from './recorder.ts'
import { waitFor } from './wait.ts'

const SERF = process.env.SERF_BIN ?? 'serf'
/** The agents' `-profile` unless told otherwise: loopback timing, the fastest to form and repair. */
export const HARNESS_PROFILE: GossipProfile = 'local'
const LOG_CAP = 4 * 1024 * 1024
const running = new Set<SerfAgent>()

export interface SerfClusterOptions {
  /** Parent directory; node `i` lives in `dir/node-i`. */
  dir: string
  /** Number of agents, default 3. */
  nodes?: number
  /** Serf's timing `profile`, default {@link HARNESS_PROFILE}; a bridge must be told the same. */
  profile?: GossipProfile
  /** `rpc_auth` token for every agent. */
  rpcAuth?: string
  /** `user_event_size_limit` for every agent (Serf's default is 512). */
  userEventSizeLimit?: number
  /**
   * An `event_handlers` entry of your own (e.g. `user:deploy=/path/deploy.sh`) instead of the
   * recorder; `readEvents` then stays empty unless it writes the recorder's lines.
   */
  eventHandlerScript?: string
  /** `log_level`, default `debug` (`received old event` is logged at WARN). */
  logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'err'
  /** Bound on waiting for the cluster to form, default 30 s. */
  readyTimeoutMs?: number
}

export interface SerfCluster {
  agents: SerfAgent[]
  /** Every agent's timing profile: what the bridge's `-gossip-profile` must say. */
  profile: GossipProfile
  /** Stops every agent of this cluster. */
  stop(): Promise<void>
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
  /** The recorder's file: one line per user event this node's handler ran for. */
  readonly eventsFile: string
  readonly configFile: string
  #process: OwnedProcess | undefined
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

  /** Everything the agent wrote to stdout and stderr, over all its runs (the last 4 MiB). */
  get logs(): string {
    return this.#logs
  }

  get pid(): number | undefined {
    return this.#process?.pid
  }

  get running(): boolean {
    return this.#process?.running ?? false
  }

  /** Spawns the agent, joining `peers` (bind addresses), and waits until its RPC port answers. */
  async start(peers: string[] = [], timeoutMs = 15_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.pid})`)
    const args = ['agent', `-config-file=${this.configFile}`, ...peers.map((a) => `-join=${a}`)]
    const agent = new OwnedProcess(this.name, SERF, args, {
      cwd: this.dir,
      env: { ...process.env, [EVENTS_FILE_ENV]: this.eventsFile },
      onLine: (line) => this.#log(line),
      keepChars: 64 * 1024,
    })
    this.#process = agent
    running.add(this)
    void agent.exited.then(({ code, signal, error }) => {
      const how = error ? `could not run ${SERF}: ${error.message}` : `exited (code ${code}, signal ${signal})`
      this.#log(`==> [harness] ${this.name} ${how}`)
      running.delete(this)
    })
    try {
      await waitFor(
        async () => {
          if (!agent.running) throw new Error(`${this.name} exited before its RPC port answered`)
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
    await this.#process?.stop(timeoutMs)
  }

  /** SIGKILL, await the exit: the agent dies without a word to the cluster. */
  async kill(): Promise<void> {
    await this.#process?.kill()
  }

  /** Every user event this node's recorder saw, in the order its handler ran. */
  readEvents(): Promise<RecordedUserEvent[]> {
    return readRecords(this.eventsFile)
  }

  /** Names of the members this agent sees as `alive`, via the real `serf members` command. */
  async aliveMembers(): Promise<string[]> {
    const args = ['members', `-rpc-addr=${this.rpcAddr}`, '-status=alive', '-format=json']
    if (this.rpcAuth) args.push(`-rpc-auth=${this.rpcAuth}`)
    const { stdout } = await promisify(execFile)(SERF, args, { timeout: 5_000 })
    const { members } = JSON.parse(stdout) as { members: { name: string }[] }
    return members.map((member) => member.name).sort()
  }

  #log(line: string): void {
    this.#logs += `${line}\n`
    if (this.#logs.length > LOG_CAP) this.#logs = this.#logs.slice(-LOG_CAP / 2)
  }
}

/**
 * Starts `nodes` agents on 127.0.0.1 that join each other, and waits until every agent sees
 * every other one alive.
 * @example
 * const cluster = await startSerfCluster({ dir: await mkdtemp(join(tmpdir(), 'serf-')) })
 * afterAll(() => stopAllAgents())
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
  const cluster: SerfCluster = { agents, profile: options.profile ?? HARNESS_PROFILE, stop: () => stopAgents(agents) }
  try {
    await agents[0]!.start()
    await Promise.all(agents.slice(1).map((agent) => agent.start([agents[0]!.bindAddr])))
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
export function stopAllAgents(): Promise<void> {
  return stopAgents([...running])
}

async function stopAgents(agents: SerfAgent[]): Promise<void> {
  await Promise.all(agents.map((agent) => agent.stop()))
}

async function writeConfig(agent: SerfAgent, options: SerfClusterOptions): Promise<void> {
  const config = {
    node_name: agent.name,
    bind: agent.bindAddr,
    rpc_addr: agent.rpcAddr,
    profile: options.profile ?? HARNESS_PROFILE,
    log_level: options.logLevel ?? 'debug',
    event_handlers: [options.eventHandlerScript ?? RECORDER_HANDLER],
    ...(options.rpcAuth ? { rpc_auth: options.rpcAuth } : {}),
    ...(options.userEventSizeLimit ? { user_event_size_limit: options.userEventSizeLimit } : {}),
  }
  await writeFile(agent.configFile, JSON.stringify(config, null, 2))
}
