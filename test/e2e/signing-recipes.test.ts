/**
 * Ways outside the SDK to sign a request, against the edge in workerd: the README's curl +
 * openssl recipe, Ed25519 (`v1a`) signed with Node's own crypto, and the `serf-edge` CLI with
 * `-wait` against a real bridge and serf agent.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync, randomUUID, sign } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { pipeline } from '../helpers/pipeline.ts'
import { payloadText, waitFor } from '../helpers/serf-agent.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const phone = generateKeyPairSync('ed25519')
const phonePublic = phone.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)

const p = pipeline({
  nodes: 1,
  clusters: { staging: { bridgeLeaseTtl: '3s' }, prod: {} },
  senders: {
    ci: { clusters: '*' },
    chatops: { clusters: ['staging'], events: ['deploy', 'restart-*'] },
    phone: { clusters: ['staging'], verifyKey: `whpk_${phonePublic.toString('base64')}` },
  },
})

beforeAll(() => {
  p.startBridge('staging')
})

/** The README's recipe, cut out of README.md so the test runs exactly what readers copy. */
async function readmeRecipe(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const match = /<!-- recipe:curl-openssl -->\s*```sh\n([\s\S]*?)```/.exec(readme)
  if (!match) throw new Error('README.md has no curl + openssl recipe block')
  const file = join(p.dir, 'recipe.sh')
  await writeFile(file, match[1]!)
  return file
}

const env = (sender: string) => ({
  ...process.env,
  EDGE: p.edge.url,
  CLUSTER: 'staging',
  SENDER: sender,
  SECRET: p.edge.senderKeys[sender]!,
})

describe('the README recipe with curl and openssl', () => {
  it('is accepted, and the event reaches the agent', async () => {
    const { stdout } = await run('bash', [await readmeRecipe(), 'deploy', 'from-curl'], { env: env('chatops') })
    expect(JSON.parse(stdout)).toMatchObject({ cluster: 'staging', status: 'queued' })
    await waitFor(async () => (await p.serf.agents[0]!.readEvents()).some((e) => payloadText(e) === 'from-curl'), {
      timeoutMs: 30_000,
      what: 'the curl event at the agent',
    })
  })

  it('is refused by the edge with the problem text for a name outside the scope', async () => {
    const failed = await run('bash', [await readmeRecipe(), 'reboot'], { env: env('chatops') }).catch((e) => e)
    expect(failed.code).toBe(22)
    expect(JSON.parse(failed.stdout)).toMatchObject({
      status: 403,
      detail: 'sender "chatops" may not fire event "reboot"',
    })
  })
})

describe('v1a signatures made with Node crypto', () => {
  it('an Ed25519 signature over id.timestamp.body is accepted; a tampered one is not', async () => {
    const body = JSON.stringify({ cluster: 'staging', name: 'deploy', payload: 'from-phone' })
    const id = `msg_${randomUUID()}`
    const timestamp = String(Math.floor(Date.now() / 1000))
    const signature = sign(null, Buffer.from(`${id}.${timestamp}.${body}`), phone.privateKey).toString('base64')
    const post = (text: string) =>
      fetch(`${p.edge.url}/v1/clusters/staging/events`, {
        method: 'POST',
        body: text,
        headers: {
          'content-type': 'application/json',
          'serf-edge-sender': 'phone',
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': `v1a,${signature}`,
        },
      })
    expect((await post(body.replace('from-phone', 'from-mallory'))).status).toBe(401)
    const res = await post(body)
    expect(res.status).toBe(202)
  })
})

describe('the serf-edge CLI against the real edge', () => {
  const cli = (args: string[], sender = 'ci') =>
    run(process.execPath, [join(ROOT, 'client/cli.ts'), ...args], {
      env: {
        ...process.env,
        SERF_EDGE_URL: p.edge.url,
        SERF_EDGE_CLUSTER: 'staging',
        SERF_EDGE_SENDER: sender,
        SERF_EDGE_KEY: p.edge.senderKeys[sender]!,
      },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
    )

  it('-wait returns once the bridge reports the event delivered (exit 0)', async () => {
    const result = await cli(['event', '-coalesce=false', '-wait=60s', 'deploy', 'via-cli'])
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/delivered/)
    const events = await p.serf.agents[0]!.readEvents()
    expect(events.some((e) => e.name === 'deploy' && payloadText(e) === 'via-cli')).toBe(true)
  })

  it('a refusal by the edge exits 2 with the problem text', async () => {
    const result = await cli(['event', 'reboot'], 'chatops')
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/403.*may not fire event "reboot"/s)
  })
})
