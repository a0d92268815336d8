/**
 * An edge for tests and the bench on a free loopback port, configured with the clusters and
 * senders asked for and development keys made for the run, restartable in place (same port, keys
 * and persisted queue): `wrangler dev` by default, or the self-hosted build on workerd
 * (selfhosted-edge.ts) when asked for or when SERF_EDGE_TEST_EDGE=selfhosted.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { generateHmacKey } from '../../protocol/signature.ts'
import { secretName } from '../../protocol/wire.ts'
import { freePort } from './net.ts'
import type { OwnedProcess } from './process.ts'
import { SelfHostedEdge, stopAllSelfHostedEdges } from './selfhosted-edge.ts'
import { spawnWranglerDev, untilEdgeAnswers, type WranglerDevOptions, writeEnvFile } from './wrangler.ts'

const running = new Set<LocalEdge>()

export interface EdgeOptions {
  /** Holds the env file and the persisted queue state. */
  dir: string
  /** The edge's `CLUSTERS`: cluster id → settings. */
  clusters: Record<string, Record<string, unknown>>
  /**
   * Senders and their scopes; each gets a fresh HMAC key unless `verifyKey` (e.g. a `whpk_`
   * Ed25519 public key) is given. Default: `ci` on every cluster.
   */
  senders?: Record<
    string,
    {
      clusters: string[] | '*'
      events?: string[]
      queries?: string[]
      audit?: string[] | '*'
      /** Operators of the on-call page whose invites and devices it manages. */
      operators?: string[] | '*'
      verifyKey?: string
    }
  >
  /** More vars and secrets for the Worker (a door's section, its signing secret), as text. */
  vars?: Record<string, string>
  /** `wrangler dev`, or the self-hosted build on workerd; default from SERF_EDGE_TEST_EDGE. */
  runtime?: EdgeRuntime
}

export type EdgeRuntime = 'wrangler' | 'selfhosted'

/** The runtime tests run the edge on: SERF_EDGE_TEST_EDGE=selfhosted picks the self-hosted build. */
export const defaultEdgeRuntime = (): EdgeRuntime =>
  process.env.SERF_EDGE_TEST_EDGE === 'selfhosted' ? 'selfhosted' : 'wrangler'

/** An edge running on this machine, whichever runtime runs it. */
export interface LocalEdge {
  readonly runtime: EdgeRuntime
  readonly url: string
  /** Sender id -> its HMAC signing key (senders given a `verifyKey` have none here). */
  readonly senderKeys: Record<string, string>
  /** Cluster id -> its bridge key. */
  readonly bridgeKeys: Record<string, string>
  /** The pid tests signal: wrangler's (also its process group's id), or workerd's. */
  readonly pid: number | undefined
  /** What the runtime and the Worker wrote (the last 256 KiB). */
  readonly log: string
  /** Start it (again: same port, keys and persisted state) and wait until it answers. */
  start(): Promise<void>
  /** SIGTERM, SIGKILL after 5 s. */
  stop(): Promise<void>
  /** SIGKILL at once: no chance to clean up, as in a crash. */
  kill(): Promise<void>
}

class WranglerEdge implements LocalEdge {
  readonly runtime = 'wrangler'
  readonly url: string
  /** Sender id → its HMAC signing key (senders given a `verifyKey` have none here). */
  readonly senderKeys: Record<string, string>
  /** Cluster id → its bridge key. */
  readonly bridgeKeys: Record<string, string>
  readonly #options: WranglerDevOptions
  #wrangler: OwnedProcess | undefined

  constructor(options: WranglerDevOptions, senderKeys: Record<string, string>, bridgeKeys: Record<string, string>) {
    this.url = `http://127.0.0.1:${options.port}`
    this.#options = options
    this.senderKeys = senderKeys
    this.bridgeKeys = bridgeKeys
  }

  /** wrangler's pid, also its process group id. */
  get pid(): number | undefined {
    return this.#wrangler?.pid
  }

  /** What wrangler and the Worker wrote (the last 256 KiB). */
  get log(): string {
    return this.#wrangler?.output ?? ''
  }

  /** Start wrangler dev (again: same port, keys and persisted state) and wait until it answers. */
  async start(): Promise<void> {
    this.#wrangler = spawnWranglerDev(this.#options)
    running.add(this)
    try {
      await untilEdgeAnswers(this.#wrangler, this.url)
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  /** SIGTERM the wrangler process group, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    running.delete(this)
    await this.#wrangler?.stop(5_000)
  }

  async kill(): Promise<void> {
    running.delete(this)
    this.#wrangler?.killNow()
    await this.#wrangler?.stop(5_000) // waits for the rest of the group
  }
}

/** Start `wrangler dev` for the project's Worker and wait until it answers. */
export async function startEdge(options: EdgeOptions): Promise<LocalEdge> {
  await mkdir(options.dir, { recursive: true })
  const senders = options.senders ?? { ci: { clusters: '*' } }
  const senderKeys: Record<string, string> = {}
  const bridgeKeys: Record<string, string> = {}
  const scopes = Object.fromEntries(Object.entries(senders).map(([id, { verifyKey: _, ...scope }]) => [id, scope]))
  const vars: Record<string, string> = {
    CLUSTERS: JSON.stringify(options.clusters),
    SENDERS: JSON.stringify(scopes),
  }
  for (const [id, sender] of Object.entries(senders)) {
    if (!sender.verifyKey) senderKeys[id] = generateHmacKey().secret
    vars[secretName('SENDER_KEYS', id)] = sender.verifyKey ?? senderKeys[id]!
  }
  for (const id of Object.keys(options.clusters)) {
    bridgeKeys[id] = generateHmacKey().secret
    vars[secretName('BRIDGE_KEYS', id)] = bridgeKeys[id]
  }
  const port = await freePort()
  if ((options.runtime ?? defaultEdgeRuntime()) === 'selfhosted') {
    const edge = new SelfHostedEdge(
      { dir: options.dir, port, vars: { ...vars, ...options.vars } },
      senderKeys,
      bridgeKeys,
    )
    await edge.build()
    await edge.start()
    return edge
  }
  const envFile = join(options.dir, 'edge.env')
  await writeEnvFile(envFile, { ...vars, ...options.vars })
  const wrangler: WranglerDevOptions = {
    port,
    inspectorPort: await freePort(),
    envFile,
    persistTo: join(options.dir, 'state'),
    logLevel: 'info',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
  }
  const edge = new WranglerEdge(wrangler, senderKeys, bridgeKeys)
  await edge.start()
  return edge
}

/** Stop every edge still running (afterAll/afterEach). */
export async function stopAllEdges(): Promise<void> {
  await Promise.all([...[...running].map((edge) => edge.stop()), stopAllSelfHostedEdges()])
}
