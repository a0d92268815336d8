/**
 * `agent-bridge` as operators run it (`node agent-bridge/cli.ts`): its command line in one
 * place for `npm start`, tests and the bench, and a handle that keeps its JSON log lines for
 * assertions and stops it by pid.
 */
import { join, resolve } from 'node:path'
import type { GossipProfile } from '../../agent-bridge/gossip-limits.ts'
import { OwnedProcess, type OwnedProcessOptions } from './process.ts'
import { HARNESS_PROFILE } from './serf.ts'
import { waitFor } from './wait.ts'

const REPOSITORY = resolve(import.meta.dirname, '../..')
const running = new Set<BridgeProcess>()

export interface BridgeProcessOptions {
  edgeUrl: string
  cluster: string
  bridgeKey: string
  rpcAddr: string
  cursorFile: string
  /** `-bridge-id`; `null` leaves it to the bridge (its host name). Default `bridge-test`. */
  bridgeId?: string | null
  rpcAuth?: string
  /**
   * `-gossip-profile`: the agents' timing profile, which sets the bridge's pace. Left out by
   * {@link spawnBridge} when not given (the bridge then assumes `lan`, Serf's default);
   * {@link startBridge} defaults it to the harness agents' {@link HARNESS_PROFILE}.
   */
  gossipProfile?: GossipProfile
  /** `-metrics-addr`, default a free port on 127.0.0.1. */
  metricsAddr?: string
  extraArgs?: string[]
  /** Node's own flags, before the script (e.g. `--max-semi-space-size=1`); default none. */
  nodeArgs?: string[]
  /**
   * The script Node runs, relative to the repository: default `agent-bridge/cli.ts`; the bench
   * gives `dist/agent-bridge.js` to measure the bin as `npm install -g` installs it.
   */
  entry?: string
  /** Environment on top of the spawner's (e.g. the unit's `MALLOC_ARENA_MAX`). */
  env?: Record<string, string>
}

/** Options for the process itself: where it runs, its environment, its output. */
export type BridgeSpawnOptions = Pick<OwnedProcessOptions, 'env' | 'group' | 'onLine'> & {
  /** The repository whose `agent-bridge/cli.ts` runs; default the one this file is in. */
  root?: string
}

/** One log line of the bridge (pino JSON). */
export type BridgeLogLine = Record<string, unknown> & { msg?: string }

/**
 * Spawn `agent-bridge`. The keys go in the environment, as operators are told to pass them;
 * `SERF_RPC_AUTH` is set only when `rpcAuth` is given.
 */
export function spawnBridge(options: BridgeProcessOptions, spawn: BridgeSpawnOptions = {}): OwnedProcess {
  const root = spawn.root ?? REPOSITORY
  const args = [
    ...(options.nodeArgs ?? []),
    join(root, options.entry ?? 'agent-bridge/cli.ts'),
    `-edge-url=${options.edgeUrl}`,
    `-cluster=${options.cluster}`,
    `-rpc-addr=${options.rpcAddr}`,
    `-cursor-file=${options.cursorFile}`,
    ...(options.bridgeId === null ? [] : [`-bridge-id=${options.bridgeId ?? 'bridge-test'}`]),
    ...(options.gossipProfile ? [`-gossip-profile=${options.gossipProfile}`] : []),
    `-metrics-addr=${options.metricsAddr ?? '127.0.0.1:0'}`,
    ...(options.extraArgs ?? []),
  ]
  const env = {
    ...(spawn.env ?? process.env),
    ...options.env,
    SERF_EDGE_BRIDGE_KEY: options.bridgeKey,
    SERF_RPC_AUTH: options.rpcAuth || undefined,
  }
  return new OwnedProcess('bridge', process.execPath, args, { ...spawn, cwd: root, env })
}

export class BridgeProcess {
  readonly #process: OwnedProcess
  /** The exit code; `null` when a signal ended it. */
  readonly exited: Promise<number | null>

  constructor(options: BridgeProcessOptions) {
    this.#process = spawnBridge({ gossipProfile: HARNESS_PROFILE, ...options })
    this.exited = this.#process.exited.then(({ code, signal }) => (signal ? null : code))
    running.add(this)
  }

  get pid(): number {
    return this.#process.pid!
  }

  /** Everything it wrote, stdout and stderr (the last 4 MiB). */
  get output(): string {
    return this.#process.output
  }

  /** Parsed JSON log lines. */
  get logs(): BridgeLogLine[] {
    return this.output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as BridgeLogLine)
  }

  /** Wait for a log line whose `msg` matches. */
  waitForLog(pattern: RegExp, timeoutMs = 30_000): Promise<BridgeLogLine> {
    return waitFor(() => this.logs.find((l) => pattern.test(String(l.msg))), {
      timeoutMs,
      what: `bridge log ${pattern}`,
    })
  }

  /** The base URL of its `/metrics` and `/healthz`, once it serves them. */
  async metricsUrl(): Promise<string> {
    const line = await this.waitForLog(/serving \/metrics/)
    return `http://${String(line.metrics)}`
  }

  /** Its unlabelled metrics from one scrape, by name (`serf_edge_bridge_events_emitted_total`, …). */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(`${await this.metricsUrl()}/metrics`)).text()
    const samples = text.split('\n').map((line) => /^(\w+) (\S+)$/.exec(line))
    return new Map(samples.flatMap((sample) => (sample ? [[sample[1]!, Number(sample[2])] as const] : [])))
  }

  /** One unlabelled metric now; 0 while it has no sample. */
  async metric(name: string): Promise<number> {
    return (await this.metrics()).get(name) ?? 0
  }

  /** SIGTERM and wait for the exit code. */
  async stop(): Promise<number | null> {
    running.delete(this)
    await this.#process.stop(30_000)
    return this.exited
  }

  /** `kill -9`: no chance to persist, ack or release. */
  async kill(): Promise<void> {
    running.delete(this)
    await this.#process.kill()
  }
}

/** Start a bridge process for agents the harness started (`-gossip-profile` theirs unless given). */
export function startBridge(options: BridgeProcessOptions): BridgeProcess {
  return new BridgeProcess(options)
}

/** Stop every bridge still running. */
export async function stopAllBridges(): Promise<void> {
  await Promise.all([...running].map((b) => b.kill()))
}
