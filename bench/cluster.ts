/**
 * Serf clusters for the bench, started with the harness (scripts/harness/serf.ts): either every
 * node runs the compiled recorder for every user event, or no node runs any handler (for the
 * queue-drain figure, where 100,000 handler processes would measure only fork+exec).
 */
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { payloadText, RecordTail } from '../scripts/harness/recorder.ts'
import { type SerfAgent, type SerfCluster, startSerfCluster } from '../scripts/harness/serf.ts'

const SOURCE = resolve(import.meta.dirname, 'recorder.c')

/** A handler entry that matches no event the bench fires, so no node spawns anything. */
const NO_HANDLER = 'user:serf-edge-bench-never-fired=true'

/**
 * Compile `bench/recorder.c` into `dir`. Serf runs every handler as `/bin/sh -c`, so the
 * cheapest recorder is `exec` of a static binary: one shell, one exec, one write.
 * @throws {Error} naming the missing compiler
 */
export async function buildRecorder(dir: string): Promise<string> {
  const out = join(dir, 'serf-recorder')
  const cc = process.env.CC ?? 'cc'
  const attempt = (extra: string[]) => promisify(execFile)(cc, ['-O2', ...extra, '-o', out, SOURCE])
  try {
    await attempt(['-static']).catch(() => attempt([]))
  } catch (error) {
    throw new Error(
      `the bench compiles its Serf event recorder (bench/recorder.c) with a C compiler and "${cc}" failed: ` +
        `${(error as Error).message.split('\n')[0]}. Install one (apt-get install -y gcc) or set CC.`,
    )
  }
  return out
}

/** Three agents on loopback, each recording every user event with its arrival time. */
export function startRecordingCluster(dir: string, recorder: string): Promise<SerfCluster> {
  return startSerfCluster({ dir, nodes: 3, logLevel: 'info', eventHandlerScript: `user=exec ${recorder}` })
}

/** Agents that run no handler at all. */
export function startSilentCluster(dir: string, nodes = 3): Promise<SerfCluster> {
  return startSerfCluster({ dir, nodes, logLevel: 'info', eventHandlerScript: NO_HANDLER })
}

/** How many times Serf dropped an event as too old ("received old event"), per agent. */
export function oldEventDrops(agents: readonly SerfAgent[]): number[] {
  return agents.map((agent) => (agent.logs.match(/received old event/g) ?? []).length)
}

/** One node's recorder file, read incrementally: `name\tpayload` → first arrival (monotonic ms). */
class NodeArrivals {
  readonly #tail: RecordTail
  readonly first = new Map<string, number>()
  duplicates = 0

  constructor(file: string) {
    this.#tail = new RecordTail(file)
  }

  async refresh(): Promise<void> {
    for (const event of await this.#tail.read()) {
      if (event.arrivedMs === undefined) continue
      const key = `${event.name}\t${payloadText(event)}`
      if (this.first.has(key)) this.duplicates++
      else this.first.set(key, event.arrivedMs)
    }
  }

  close(): Promise<void> {
    return this.#tail.close()
  }
}

/** What the recorders of a cluster saw, keyed by event name and payload. */
export class ClusterArrivals {
  readonly nodes: NodeArrivals[]

  constructor(cluster: SerfCluster) {
    this.nodes = cluster.agents.map((agent) => new NodeArrivals(agent.eventsFile))
  }

  async refresh(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.refresh()))
  }

  /** Arrival times (monotonic ms) of one event on each node; undefined where not (yet) seen. */
  times(name: string, payload: string): (number | undefined)[] {
    return this.nodes.map((node) => node.first.get(`${name}\t${payload}`))
  }

  /** How many distinct events named `name` each node has seen. */
  counts(name: string): number[] {
    const prefix = `${name}\t`
    return this.nodes.map((node) => {
      let n = 0
      for (const key of node.first.keys()) if (key.startsWith(prefix)) n++
      return n
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.close()))
  }
}
