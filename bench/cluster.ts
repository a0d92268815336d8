/**
 * Serf clusters for the bench, started with test/helpers/serf-agent.ts: either every node runs
 * the compiled recorder for every user event, or no node runs any handler (for the queue-drain
 * figure, where 100,000 handler processes would measure only fork+exec).
 */
import { execFile } from 'node:child_process'
import { type FileHandle, open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { type SerfAgent, type SerfCluster, startSerfCluster } from '../test/helpers/serf-agent.ts'

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
  readonly #file: string
  #handle: FileHandle | undefined
  #offset = 0
  #partial = ''
  readonly first = new Map<string, number>()
  duplicates = 0

  constructor(file: string) {
    this.#file = file
  }

  async refresh(): Promise<void> {
    this.#handle ??= await open(this.#file, 'r').catch(() => undefined)
    if (!this.#handle) return
    const buffer = Buffer.alloc(1 << 20)
    for (;;) {
      const { bytesRead } = await this.#handle.read(buffer, 0, buffer.length, this.#offset)
      if (bytesRead === 0) return
      this.#offset += bytesRead
      const lines = (this.#partial + buffer.toString('utf8', 0, bytesRead)).split('\n')
      this.#partial = lines.pop()!
      for (const line of lines) this.#add(line)
    }
  }

  #add(line: string): void {
    const [, name, encoded = '', ns] = line.split('\t')
    if (!name || !ns) return
    // Serf appends a newline to every payload that lacks one; drop it to get the payload back.
    const key = `${name}\t${Buffer.from(encoded, 'base64').toString('utf8').replace(/\n$/, '')}`
    if (this.first.has(key)) this.duplicates++
    else this.first.set(key, Number(ns) / 1e6)
  }

  async close(): Promise<void> {
    await this.#handle?.close()
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
