/**
 * End to end through the GitHub door: a push signed as GitHub signs it (node:crypto) reaches
 * `wrangler dev`, and the real bridge emits `deploy <commit SHA>` into a real Serf agent, as
 * `serf event deploy <sha>` would.
 */
import { execFile } from 'node:child_process'
import { createHmac, randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { readmeRecipe } from '../helpers/readme.ts'
import { payloadText, type SerfCluster, startSerfCluster, stopAll, waitFor } from '../helpers/serf-agent.ts'

const secret = randomBytes(20).toString('hex')

let dir: string
let edge: LocalEdge
let serf: SerfCluster

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-github-'))
  serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 1, logLevel: 'info' })
  edge = await startEdge({
    dir: join(dir, 'edge'),
    clusters: { gh: { retention: '3d', bridgeLeaseTtl: '5s' } },
    senders: {},
    vars: {
      GITHUB_HOOKS: JSON.stringify({
        app: {
          repositories: ['octo/app'],
          rules: [{ event: 'push', ref: 'refs/heads/main', cluster: 'gh', name: 'deploy', payload: '{{after}}' }],
        },
      }),
      GITHUB_WEBHOOK_SECRET_APP: secret,
    },
  })
  startBridge({
    edgeUrl: edge.url,
    cluster: 'gh',
    bridgeKey: edge.bridgeKeys.gh!,
    rpcAddr: serf.agents[0]!.rpcAddr,
    cursorFile: join(dir, 'gh.cursor.json'),
  })
})

afterAll(async () => {
  await stopAllBridges()
  await stopAllEdges()
  await stopAll()
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** POST `body` to hook `app` with GitHub's headers and its signature over the exact bytes. */
function deliver(body: string, delivery: string): Promise<Response> {
  return fetch(`${edge.url}/v1/github/app`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  })
}

describe('a signed push to main', () => {
  it('reaches the Serf agent as deploy <commit SHA>; a redelivery answers from the first', async () => {
    const sha = randomBytes(20).toString('hex')
    const delivery = randomUUID()
    const body = JSON.stringify({
      ref: 'refs/heads/main',
      before: randomBytes(20).toString('hex'),
      after: sha,
      deleted: false,
      repository: { full_name: 'octo/app' },
      pusher: { name: 'mona' },
    })
    const res = await deliver(body, delivery)
    expect(res.status).toBe(202)
    const answer = await res.json()
    expect(answer).toMatchObject({ delivery, queued: [{ rule: 0, cluster: 'gh', name: 'deploy' }] })

    const received = await waitFor(
      async () => (await serf.agents[0]!.readEvents()).find((e) => e.name === 'deploy' && payloadText(e) === sha),
      { timeoutMs: 30_000, what: 'deploy <sha> at the agent' },
    )
    expect(received.ltime).toBeGreaterThan(0)

    const again = await deliver(body, delivery)
    expect(again.status).toBe(202)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.json()).toEqual(answer)
  })
})

describe("README's curl + openssl recipe", () => {
  it('fakes a signed push that fires deploy <sha> on the agent', async () => {
    const sha = randomBytes(20).toString('hex')
    const script = await readmeRecipe('github-push', dir)
    const env = { ...process.env, EDGE: edge.url, HOOK: 'app', GITHUB_WEBHOOK_SECRET: secret }
    const { stdout } = await promisify(execFile)('bash', [script, 'octo/app', 'main', sha], { env })
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, queued: [{ name: 'deploy' }] })
    await waitFor(
      async () => (await serf.agents[0]!.readEvents()).some((e) => e.name === 'deploy' && payloadText(e) === sha),
      { timeoutMs: 30_000, what: "the recipe's deploy at the agent" },
    )
  })
})
