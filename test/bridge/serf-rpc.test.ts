import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeMultiStream, encode } from '@msgpack/msgpack'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  rpcConfigFromEnv,
  SerfConnectionError,
  SerfRemoteError,
  SerfRpcClient,
  SerfTimeoutError,
} from '../../agent-bridge/serf-rpc.ts'
import {
  freePort,
  type SerfAgent,
  type SerfCluster,
  startSerfCluster,
  stopAll,
  waitFor,
} from '../helpers/serf-agent.ts'

const text = (s: string) => new TextEncoder().encode(s)
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

let dir: string
let cluster: SerfCluster
let client: SerfRpcClient
let run = 0

/** A fresh event name per test, so records of earlier tests never match. */
const uniqueName = (label: string) => `${label}-${++run}`

/**
 * The records named `name` on `agent` once there are `atLeast` and none arrived for `quietMs`
 * (Serf's agent flushes coalesced user events after 1 s of quiet, 3 s at the latest).
 */
async function settledEvents(agent: SerfAgent, name: string, { atLeast = 1, quietMs = 2_500 } = {}) {
  let count = -1
  let since = Date.now()
  return waitFor(
    async () => {
      const records = (await agent.readEvents()).filter((r) => r.name === name)
      if (records.length !== count) [count, since] = [records.length, Date.now()]
      return records.length >= atLeast && Date.now() - since >= quietMs && records
    },
    { timeoutMs: 30_000, what: `events '${name}' on ${agent.name} to settle` },
  )
}

const settledOnEvery = (name: string, options?: { atLeast?: number; quietMs?: number }) =>
  Promise.all(cluster.agents.map((agent) => settledEvents(agent, name, options)))

/** Size of Serf's gossip message for a user event: type byte + msgpack map, old-spec raw. */
function encodedUserEventSize(nameLength: number, payloadLength: number, ltime: number) {
  const raw = (n: number) => (n < 32 ? 1 : 3) + n
  const uint = ltime < 128 ? 1 : ltime < 256 ? 2 : ltime < 65_536 ? 3 : ltime < 2 ** 32 ? 5 : 9
  return 25 + uint + raw(nameLength) + raw(payloadLength)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-rpc-test-'))
  cluster = await startSerfCluster({ dir: join(dir, 'main'), nodes: 3 })
  client = new SerfRpcClient({ address: cluster.agents[0].rpcAddr })
  await client.connect()
})

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    for (const agent of cluster.agents) {
      console.error(`--- ${agent.name} log, last 8 KiB ---\n${agent.logs.slice(-8192)}`)
    }
  })
})

afterAll(async () => {
  await client?.close()
  await stopAll()
  await rm(dir, { recursive: true, force: true })
})

describe('rpcConfigFromEnv', () => {
  it('defaults like `serf event` and reads SERF_RPC_ADDR and SERF_RPC_AUTH', () => {
    expect(rpcConfigFromEnv({})).toEqual({ address: '127.0.0.1:7373', authKey: '' })
    const env = { SERF_RPC_ADDR: '10.0.0.1:7000', SERF_RPC_AUTH: 's3cret' }
    expect(rpcConfigFromEnv(env)).toEqual({ address: '10.0.0.1:7000', authKey: 's3cret' })
  })
})

describe('event', () => {
  it('reaches the handler of every node with its name, payload and LTime', async () => {
    const name = uniqueName('deploy')
    const { eventTime } = await client.stats()
    await client.event(name, text('v42'), false)
    for (const [record] of await settledOnEvery(name, { quietMs: 0 })) {
      expect(decode(record.payload)).toBe('v42')
      expect(record.ltime).toBe(eventTime)
    }
  })

  it('keeps a binary payload byte for byte', async () => {
    const name = uniqueName('binary')
    const payload = Uint8Array.from({ length: 256 }, (_, i) => (i * 7 + 3) % 256)
    await client.event(name, payload, false)
    for (const [record] of await settledOnEvery(name, { quietMs: 0 })) {
      expect(Buffer.from(record.payload).equals(payload)).toBe(true)
    }
  })

  it('coalesce=true runs the handler far fewer times for a burst, newest LTime last', async () => {
    const name = uniqueName('coalesced')
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.event(name, text(`${i}`))))
    for (const records of await settledOnEvery(name)) {
      expect(records.length).toBeLessThanOrEqual(3)
      const newest = records.reduce((a, b) => (b.ltime > a.ltime ? b : a))
      expect(decode(newest.payload)).toBe('19')
    }
  })

  it('coalesce=false runs the handler once per event, in send order on the sender', async () => {
    const name = uniqueName('each')
    const sent = Array.from({ length: 20 }, (_, i) => `${i}`)
    await Promise.all(sent.map((payload) => client.event(name, text(payload), false)))
    const perNode = await settledOnEvery(name, { atLeast: 20 })
    for (const records of perNode) {
      const byLtime = [...records].sort((a, b) => a.ltime - b.ltime)
      expect(byLtime.map((r) => decode(r.payload))).toEqual(sent)
    }
    expect(perNode[0].map((r) => decode(r.payload))).toEqual(sent)
  })
})

describe('user_event_size_limit', () => {
  /** Checks Serf's two rules at `limit`; returns the most name + payload bytes it accepted. */
  async function expectBoundary(rpc: SerfRpcClient, limit: number) {
    const name = uniqueName('big')
    const { eventTime } = await rpc.stats()
    let max = limit - name.length
    while (encodedUserEventSize(name.length, max, eventTime) > limit) max--

    const before = `user event exceeds configured limit of ${limit} bytes before encoding`
    const after = `encoded user event exceeds configured limit of ${limit} bytes after encoding`
    await expect(rpc.event(name, new Uint8Array(limit - name.length + 1))).rejects.toThrow(before)
    await expect(rpc.event(name, new Uint8Array(max + 1))).rejects.toThrow(after)
    await expect(rpc.event(name, new Uint8Array(max))).resolves.toBeUndefined()

    const error = await rpc.event(name, new Uint8Array(max + 1)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SerfRemoteError)
    expect(error).toMatchObject({ name: 'SerfRemoteError', command: 'event', isSizeLimit: true })
    return name.length + max
  }

  it("refuses with Serf's own text; at the default 512 at most 482 bytes get through", async () => {
    expect(await expectBoundary(client, 512)).toBe(482)
  })

  it('applies a configured limit the same way: 1024 lets 994 bytes through', async () => {
    const options = { dir: join(dir, 'limit'), nodes: 1, userEventSizeLimit: 1024 }
    const small = await startSerfCluster(options)
    const rpc = new SerfRpcClient({ address: small.agents[0].rpcAddr })
    await rpc.connect()
    expect(await expectBoundary(rpc, 1024)).toBe(994)
    await rpc.close()
    await small.stop()
  })
})

describe('pipelining', () => {
  it('matches every answer to its request by Seq', async () => {
    const name = uniqueName('piped')
    const calls = Array.from({ length: 30 }, (_, i) => {
      if (i % 3 === 0) return client.stats()
      return client.event(name, new Uint8Array(i % 3 === 1 ? 600 : 1).fill(i), false)
    })
    const results = await Promise.allSettled(calls)
    results.forEach((result, i) => {
      if (i % 3 === 0) expect(result).toMatchObject({ value: { members: 3 } })
      if (i % 3 === 1) expect(result).toMatchObject({ reason: { isSizeLimit: true } })
      if (i % 3 === 2) expect(result).toEqual({ status: 'fulfilled', value: undefined })
    })
    const origin = await settledEvents(cluster.agents[0], name, { atLeast: 10, quietMs: 0 })
    expect(origin.map((r) => r.payload[0])).toEqual([2, 5, 8, 11, 14, 17, 20, 23, 26, 29])
  })
})

describe('stats', () => {
  it('returns the serf queues as numbers', async () => {
    const stats = await client.stats()
    expect(stats).toMatchObject({ nodeName: 'node-0', members: 3, failed: 0, encrypted: false })
    for (const key of ['eventQueue', 'intentQueue', 'queryQueue', 'eventTime'] as const) {
      expect(Number.isInteger(stats[key]), key).toBe(true)
    }
    expect(Object.keys(stats.raw).sort()).toEqual(['agent', 'event_handlers', 'runtime', 'serf', 'tags'])
    expect(Object.keys(stats.raw.serf).sort()).toEqual([
      'coordinate_resets',
      'encrypted',
      'event_queue',
      'event_time',
      'failed',
      'health_score',
      'intent_queue',
      'left',
      'member_time',
      'members',
      'query_queue',
      'query_time',
    ])
  })
})

describe('rpc_auth', () => {
  let secured: SerfCluster
  beforeAll(async () => {
    secured = await startSerfCluster({ dir: join(dir, 'auth'), nodes: 1, rpcAuth: 'right-token' })
  })
  afterAll(() => secured.stop())

  it('accepts events with the token', async () => {
    const rpc = new SerfRpcClient({ address: secured.agents[0].rpcAddr, authKey: 'right-token' })
    await rpc.connect()
    const name = uniqueName('authed')
    await rpc.event(name, text('ok'), false)
    await rpc.close()
    await settledEvents(secured.agents[0], name, { quietMs: 0 })
  })

  it('refuses every request without a token with Serf\'s "Authentication required"', async () => {
    const rpc = new SerfRpcClient({ address: secured.agents[0].rpcAddr })
    await rpc.connect()
    const refused = { name: 'SerfRemoteError', message: 'Authentication required' }
    await expect(rpc.event('x', text('y'))).rejects.toMatchObject({ ...refused, command: 'event' })
    await expect(rpc.event('x', text('y'))).rejects.toMatchObject({ isAuthFailure: true })
    await expect(rpc.stats()).rejects.toMatchObject({ ...refused, command: 'stats' })
    await rpc.close()
  })

  it('fails connect with a wrong token at once, without retrying', async () => {
    const rpc = new SerfRpcClient({ address: secured.agents[0].rpcAddr, authKey: 'wrong' })
    let retries = 0
    const error = await rpc.connectWithRetry({ onRetry: () => retries++ }).catch((e) => e)
    expect(error).toBeInstanceOf(SerfRemoteError)
    expect(error).toMatchObject({ message: 'Invalid authentication token', command: 'auth' })
    expect(retries).toBe(0)
    expect(rpc.connected).toBe(false)
    await rpc.close()
  })
})

describe('connection failures', () => {
  it('a dead agent fails requests in flight; connectWithRetry reconnects', async () => {
    const restartable = await startSerfCluster({ dir: join(dir, 'restart'), nodes: 1 })
    const [agent] = restartable.agents
    const rpc = new SerfRpcClient({ address: agent.rpcAddr, backoff: { initialDelayMs: 50 } })
    await rpc.connect()
    const name = uniqueName('stream')
    const inFlight = Array.from({ length: 3000 }, (_, i) => rpc.event(name, text(`${i}`), false))
    const settled = Promise.allSettled(inFlight)
    await inFlight[0]
    await agent.kill()

    // Answers come in request order, so what succeeded is a prefix and the rest failed.
    const outcomes = await settled
    const firstFailure = outcomes.findIndex((o) => o.status === 'rejected')
    expect(firstFailure).toBeGreaterThan(0)
    for (const outcome of outcomes.slice(firstFailure)) {
      expect(outcome).toMatchObject({ reason: { name: 'SerfConnectionError' } })
    }
    expect(rpc.connected).toBe(false)
    await expect(rpc.event(name)).rejects.toBeInstanceOf(SerfConnectionError)

    let retries = 0
    const reconnected = rpc.connectWithRetry({ onRetry: () => retries++ })
    await new Promise((resolve) => setTimeout(resolve, 500))
    await agent.start()
    await reconnected
    expect(retries).toBeGreaterThan(0)
    await rpc.event(name, text('after restart'), false)
    await waitFor(async () => {
      const records = await agent.readEvents()
      return records.some((r) => r.name === name && decode(r.payload) === 'after restart')
    })
    await rpc.close()
    await restartable.stop()
  })

  it('gives up retrying when the signal aborts', async () => {
    const rpc = new SerfRpcClient({ address: `127.0.0.1:${await freePort()}` })
    let retries = 0
    const signal = AbortSignal.timeout(1_000)
    const retrying = rpc.connectWithRetry({ signal, onRetry: () => retries++ })
    await expect(retrying).rejects.toMatchObject({ name: 'TimeoutError' })
    expect(retries).toBeGreaterThan(1)
    await rpc.close()
  })

  it('times a request out with SerfTimeoutError when the agent does not answer', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => sockets.add(socket))
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const { port } = silent.address() as { port: number }
    const rpc = new SerfRpcClient({ address: `127.0.0.1:${port}`, requestTimeoutMs: 300 })
    await expect(rpc.connect()).rejects.toBeInstanceOf(SerfTimeoutError)
    await rpc.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => silent.close(resolve))
  })

  it('drops an answer that arrives after its timeout and stays in step', async () => {
    // A stand-in agent that answers its first `stats` late; a real one cannot be made that slow.
    const sockets = new Set<Socket>()
    const serve = async (socket: Socket) => {
      let bodyNext = false
      let delayed = false
      for await (const message of decodeMultiStream(socket)) {
        if (bodyNext) {
          bodyNext = false
          continue
        }
        const { Command, Seq } = message as { Command: string; Seq: number }
        bodyNext = Command !== 'stats'
        const body = Command === 'stats' ? [encode({ serf: { event_queue: `${Seq}` } })] : []
        const answer = () => socket.write(Buffer.concat([encode({ Seq, Error: '' }), ...body]))
        if (Command === 'stats' && !delayed) setTimeout(answer, 500)
        else answer()
        delayed ||= Command === 'stats'
      }
    }
    const slow = createServer((socket) => {
      sockets.add(socket)
      serve(socket).catch(() => socket.destroy())
    })
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))
    const { port } = slow.address() as { port: number }
    const rpc = new SerfRpcClient({ address: `127.0.0.1:${port}`, requestTimeoutMs: 300 })
    await rpc.connect()
    await expect(rpc.stats()).rejects.toBeInstanceOf(SerfTimeoutError)
    expect(await rpc.stats()).toMatchObject({ eventQueue: 3 })
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(await rpc.stats()).toMatchObject({ eventQueue: 4 })
    expect(rpc.connected).toBe(true)
    await rpc.close()
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => slow.close(resolve))
  })
})
