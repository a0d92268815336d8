/**
 * The query rules checked against a real `serf agent`: what the edge accepts under a cluster's
 * `query_size_limit`, the agent accepts over RPC (`serf query` is Serf's own RPC client); the
 * bound is Serf's exact encoding with the widest Lamport time, address and timeout; and what the
 * edge refuses as `_serf_` or as a tag filter Go cannot run, the agent refuses or ignores.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { utf8 } from '../../protocol/bytes.ts'
import { queryRequestSchema } from '../../protocol/query.ts'
import { checkQuerySize, DEFAULT_SOURCE_NAME_BYTES, type SerfQuery } from '../../protocol/query-rules.ts'
import { freePort, SerfAgent, waitFor } from '../helpers/serf-agent.ts'

const LIMIT = 400
/** The agent's name: the source node of every query it sends, as a members report would tell. */
const NODE = 'edge-size-node'
const SERF = process.env.SERF_BIN ?? 'serf'

let dir: string
let agent: SerfAgent

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-query-size-'))
  agent = new SerfAgent({ name: NODE, dir, bindPort: await freePort(), rpcPort: await freePort() })
  const handler = join(dir, 'answer.sh')
  await writeFile(handler, '#!/bin/sh\necho answered\n', { mode: 0o755 })
  const config = {
    node_name: NODE,
    bind: agent.bindAddr,
    rpc_addr: agent.rpcAddr,
    profile: 'local',
    log_level: 'debug',
    query_size_limit: LIMIT,
    tags: { role: 'web-1' },
    event_handlers: [`query=${handler}`],
  }
  await writeFile(agent.configFile, JSON.stringify(config))
  await agent.start()
})

afterAll(async () => {
  await agent?.stop()
  await rm(dir, { recursive: true, force: true })
})

/** Run `serf query` against the agent: its exit code and what it printed. */
async function serfQuery(query: SerfQuery): Promise<{ code: number; output: string }> {
  const args = ['query', `-rpc-addr=${agent.rpcAddr}`]
  if (query.timeoutMs > 0) args.push(`-timeout=${query.timeoutMs}ms`)
  for (const node of query.nodes) args.push(`-node=${node}`)
  for (const [tag, expr] of Object.entries(query.tags)) args.push('-tag', `${tag}=${expr}`)
  args.push(query.name, new TextDecoder().decode(query.payload))
  try {
    const { stdout, stderr } = await promisify(execFile)(SERF, args, { timeout: 15_000 })
    return { code: 0, output: stdout + stderr }
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string }
    if (typeof failed.code !== 'number') throw error
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }
  }
}

/** The largest payload the edge accepts for `shape` under LIMIT, with the source name bound `nameBytes`. */
function edgeMax(shape: Omit<SerfQuery, 'payload'>, nameBytes: number): number {
  let size = 0
  while (checkQuerySize({ ...shape, payload: new Uint8Array(size + 1) }, LIMIT, nameBytes) === null) size++
  return size
}

const withPayload = (shape: Omit<SerfQuery, 'payload'>, bytes: number): SerfQuery => ({
  ...shape,
  payload: utf8('x'.repeat(bytes)),
})

const refusal = `Error sending query: query exceeds limit of ${LIMIT} bytes`

describe("the size rule against the agent's query_size_limit", () => {
  // What the edge assumes wider than this agent's query: a Lamport time of 9 bytes (this fresh
  // agent's is 1), an IPv6 address of 17 (127.0.0.1 takes 5), and for Serf's default timeout
  // 9 bytes (this agent's 1.6 s takes 5; so does 500 ms).
  const cases: [string, Omit<SerfQuery, 'payload'>, number][] = [
    [
      'no filters, default timeout',
      { name: 'uptime', nodes: [], tags: {}, timeoutMs: 0, requestAck: true, relayFactor: 0 },
      8 + 12 + 4,
    ],
    [
      'node and tag filters, a 500 ms timeout',
      {
        name: 'disk-usage',
        nodes: [NODE, 'other-node'],
        tags: { role: '^web-[0-9]+$', dc: 'eu' },
        timeoutMs: 500,
        requestAck: true,
        relayFactor: 0,
      },
      8 + 12,
    ],
  ]

  it.each(cases)(
    '%s: the edge accepts what the agent accepts; one byte past Serf’s own bound both refuse',
    async (_, shape, slack) => {
      const max = edgeMax(shape, utf8(NODE).length)
      expect((await serfQuery(withPayload(shape, max))).output).toContain('dispatched')

      // Serf's exact size is the edge's bound less the widths this agent does not use.
      const serfMax = max + slack
      expect((await serfQuery(withPayload(shape, serfMax))).output).toContain('dispatched')
      const over = await serfQuery(withPayload(shape, serfMax + 1))
      expect(over).toMatchObject({ code: 1, output: expect.stringContaining(refusal) })
      expect(checkQuerySize(withPayload(shape, serfMax + 1), LIMIT, utf8(NODE).length)).not.toBeNull()
      expect(checkQuerySize(withPayload(shape, max + 1), LIMIT, utf8(NODE).length)).toMatchObject({
        limit: LIMIT,
        maxPayload: max,
      })
    },
  )

  it('before any members report, the default name bound keeps the edge below the agent', async () => {
    const shape = cases[0]![1]
    const max = edgeMax(shape, DEFAULT_SOURCE_NAME_BYTES)
    expect(max).toBe(edgeMax(shape, utf8(NODE).length) - (DEFAULT_SOURCE_NAME_BYTES + 3 - (utf8(NODE).length + 1)))
    expect((await serfQuery(withPayload(shape, max))).output).toContain('dispatched')
  })
})

describe('what else the edge refuses, the agent refuses or ignores', () => {
  it("refuses Serf's internal names", async () => {
    const shape = { name: '_serf_x', nodes: [], tags: {}, timeoutMs: 500, requestAck: true, relayFactor: 0 }
    const agentAnswer = await serfQuery({ ...shape, payload: utf8('p') })
    expect(agentAnswer).toMatchObject({
      code: 1,
      output: expect.stringContaining("cannot contain the '_serf_' prefix"),
    })
    expect(queryRequestSchema.safeParse({ cluster: 'c', name: '_serf_x', payload: 'p' }).success).toBe(false)
  })

  it('a tag filter Go cannot compile makes every node skip the query silently', async () => {
    const lookbehind = '(?<=web)-1'
    const shape = {
      name: 'uptime',
      nodes: [],
      tags: { role: lookbehind },
      timeoutMs: 500,
      requestAck: true,
      relayFactor: 0,
    }
    const skipped = await serfQuery({ ...shape, payload: new Uint8Array() })
    expect(skipped.output).toContain('Total Acks: 0')
    await waitFor(() => agent.logs.includes('failed to compile filter regex'), { what: "the agent's compile error" })
    expect(queryRequestSchema.safeParse({ cluster: 'c', name: 'uptime', tags: { role: lookbehind } }).success).toBe(
      false,
    )

    const answered = await serfQuery({ ...shape, tags: { role: '^web-1$' }, payload: new Uint8Array() })
    expect(answered.output).toContain(`Response from '${NODE}': answered`)
  })
})
