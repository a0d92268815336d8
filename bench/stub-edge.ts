/**
 * A stand-in for the edge's bridge API that holds a backlog of `count` synthetic events and hands
 * them out as fast as the bridge asks: the footprint figure measures the bridge draining 100,000
 * events without first queueing them through `wrangler dev` (15 minutes here) and without
 * workerd's CPU on the same two cores. It checks no signature and keeps one lease; what the
 * bridge does per event (sign, fetch, parse, emit, ack) is the same as against the real edge.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { PollResponse, QueuedEvent } from '../protocol/wire.ts'

export interface StubEdge {
  url: string
  /** Highest sequence the bridge acknowledged. */
  readonly ackedThrough: number
  /** Resolves once every event is acknowledged. */
  drained: Promise<void>
  stop(): Promise<void>
}

const LEASE_TTL_MS = 60_000

/** Serve `count` events named `name`, payload the sequence number as text (as figure 5's). */
export async function startStubEdge(count: number, name = 'scale'): Promise<StubEdge> {
  let acked = 0
  let onDrained = () => {}
  const drained = new Promise<void>((resolve) => {
    onDrained = resolve
  })
  const waiting = new Set<NodeJS.Timeout>()
  const enqueuedAt = new Date().toISOString()
  const event = (sequence: number): QueuedEvent => ({
    sequence,
    id: `evt_${sequence.toString(16).padStart(32, '0')}`,
    name,
    payloadBase64: Buffer.from(String(sequence)).toString('base64'),
    coalesce: false,
    enqueuedAt,
  })
  const lease = (bridgeId: string) => ({
    token: 1,
    bridgeId,
    expiresAt: new Date(Date.now() + LEASE_TTL_MS).toISOString(),
    ttlMs: LEASE_TTL_MS,
  })
  // An idle long-poll (nothing left, queries) waits as the edge would, so the bridge does not spin.
  const later = (ms: number, answer: () => void) => {
    const timer = setTimeout(() => {
      waiting.delete(timer)
      answer()
    }, ms)
    waiting.add(timer)
  }

  const server: Server = createServer(async (req, res) => {
    const body = JSON.parse((await readBody(req)) || '{}') as Record<string, unknown>
    const send = (value: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(value))
    }
    const action = /\/bridge\/(.+)$/.exec(req.url ?? '')?.[1]
    switch (action) {
      case 'poll': {
        const after = Number(body.after)
        const limit = Number(body.limit)
        const page = (): PollResponse => {
          const events: QueuedEvent[] = []
          for (let seq = after + 1; seq <= Math.min(count, after + limit); seq++) events.push(event(seq))
          return { lease: lease(String(body.bridgeId)), events, settledThrough: acked, backlog: count - acked }
        }
        if (after < count || !body.waitMs) return send(page())
        return later(Number(body.waitMs), () => send(page()))
      }
      case 'ack': {
        const through = Number(body.through)
        const delivered = Math.max(0, through - acked)
        acked = Math.max(acked, through)
        send({ delivered, rejected: 0, settledThrough: acked })
        if (acked >= count) onDrained()
        return
      }
      case 'release':
        return send({ released: true })
      case 'queries/poll':
        return later(Number(body.waitMs ?? 25_000), () => send({ queries: [] }))
      case 'members':
        return send({})
      default:
        res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    get ackedThrough() {
      return acked
    },
    drained,
    stop: async () => {
      for (const timer of waiting) clearTimeout(timer)
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req) text += chunk
  return text
}
