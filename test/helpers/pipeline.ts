/**
 * The end-to-end fixture: one call gives a test file a real edge (`wrangler dev`), a real Serf
 * cluster with recording handlers, and agent-bridge options between them; everything is
 * started before the file's tests and stopped after them, also when one fails.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import {
  type BridgeProcess,
  type BridgeProcessOptions,
  startBridge,
  stopAllBridges,
} from '../../scripts/harness/bridge.ts'
import {
  type EdgeOptions,
  type EdgeRuntime,
  type LocalEdge,
  startEdge,
  stopAllEdges,
} from '../../scripts/harness/local-edge.ts'
import type { RecordedUserEvent } from '../../scripts/harness/recorder.ts'
import {
  type SerfAgent,
  type SerfCluster,
  type SerfClusterOptions,
  startSerfCluster,
  stopAllAgents,
} from '../../scripts/harness/serf.ts'

export interface PipelineOptions {
  /** The edge's clusters: id → settings (`bridgeLeaseTtl`, `userEventSizeLimit`, …). */
  clusters: EdgeOptions['clusters']
  /** The edge's senders; default `ci` on every cluster. */
  senders?: EdgeOptions['senders']
  /** Serf agents, default 3. */
  nodes?: number
  /** More settings of the Serf agents; `logLevel` defaults to `info`. */
  serf?: Omit<SerfClusterOptions, 'dir' | 'nodes'>
  /** The edge's runtime; default from SERF_EDGE_TEST_EDGE (wrangler dev unless `selfhosted`). */
  runtime?: EdgeRuntime
}

/** What a test file runs against; its parts exist once the file's `beforeAll` ran. */
export class Pipeline {
  readonly #options: PipelineOptions
  readonly #testBridges: BridgeProcess[] = []
  #inTest = false
  #dir: string | undefined
  #edge: LocalEdge | undefined
  #serf: SerfCluster | undefined

  constructor(options: PipelineOptions) {
    this.#options = options
  }

  /** A temporary folder of the file's own, removed after its tests. */
  get dir(): string {
    return this.#started(this.#dir)
  }

  get edge(): LocalEdge {
    return this.#started(this.#edge)
  }

  get serf(): SerfCluster {
    return this.#started(this.#serf)
  }

  /**
   * Options for a bridge of `cluster` delivering into node-0, with a cursor file of its own
   * per bridge id; `overrides` replace any of them.
   */
  bridgeOptions(cluster: string, overrides: Partial<BridgeProcessOptions> = {}): BridgeProcessOptions {
    const bridgeId = overrides.bridgeId ?? 'bridge-test'
    return {
      edgeUrl: this.edge.url,
      cluster,
      bridgeKey: this.edge.bridgeKeys[cluster]!,
      rpcAddr: this.serf.agents[0]!.rpcAddr,
      cursorFile: join(this.dir, `${cluster}.${bridgeId}.cursor.json`),
      bridgeId,
      gossipProfile: this.serf.profile,
      ...overrides,
    }
  }

  /**
   * Start a bridge with {@link bridgeOptions}. One started by a test is stopped after that
   * test (SIGTERM, so it hands its lease back); one started in `beforeAll`, after the file.
   */
  startBridge(cluster: string, overrides: Partial<BridgeProcessOptions> = {}): BridgeProcess {
    const bridge = startBridge(this.bridgeOptions(cluster, overrides))
    if (this.#inTest) this.#testBridges.push(bridge)
    return bridge
  }

  /** Per node (of `agents`, default all): the recorded events named `name`, in handler order. */
  eventsNamed(name: string, agents: SerfAgent[] = this.serf.agents): Promise<RecordedUserEvent[][]> {
    return Promise.all(agents.map(async (agent) => (await agent.readEvents()).filter((e) => e.name === name)))
  }

  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'serf-edge-e2e-'))
    const { nodes = 3, serf, clusters, senders, runtime } = this.#options
    this.#serf = await startSerfCluster({ logLevel: 'info', ...serf, dir: join(this.#dir, 'serf'), nodes })
    this.#edge = await startEdge({ dir: join(this.#dir, 'edge'), clusters, senders, runtime })
  }

  testStarted(): void {
    this.#inTest = true
  }

  async testEnded(): Promise<void> {
    this.#inTest = false
    await Promise.all(this.#testBridges.splice(0).map((bridge) => bridge.stop()))
  }

  /** Stop every bridge, edge and Serf agent this process started, and remove the folder. */
  async stop(): Promise<void> {
    await stopAllBridges()
    await stopAllEdges()
    await stopAllAgents()
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true })
  }

  #started<T>(part: T | undefined): T {
    if (part === undefined) throw new Error('the pipeline is not started yet: use it inside a test or hook')
    return part
  }
}

/**
 * Registers the pipeline with the file's hooks: started in `beforeAll`, bridges a test started
 * stopped in `afterEach`, everything stopped in `afterAll`.
 * @example
 * const p = pipeline({ nodes: 3, clusters: { main: { bridgeLeaseTtl: '3s' } } })
 * it('delivers', async () => { const bridge = p.startBridge('main'); … })
 */
export function pipeline(options: PipelineOptions): Pipeline {
  const p = new Pipeline(options)
  beforeAll(() => p.start())
  beforeEach(() => p.testStarted())
  afterEach(() => p.testEnded())
  afterAll(() => p.stop())
  return p
}
