/**
 * The GitHub door in workerd: deliveries to hook `ci` (test/worker/bindings/github.ts), signed
 * here with WebCrypto as GitHub signs them, matched to rules and queued through the one enqueue
 * path; read back as the bridge and the audit trail see them.
 */
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it, vi } from 'vitest'
import type { AuditPage } from '../../protocol/audit.ts'
import { bridge, EDGE, get, problem } from './helpers.ts'

const cluster = 'github'
const encoder = new TextEncoder()
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

/** `sha256=<hex HMAC-SHA256>` of `body` under `secret`, as GitHub computes X-Hub-Signature-256. */
async function githubSignature(body: Uint8Array, secret = env.GITHUB_WEBHOOK_SECRET_CI): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ])
  return `sha256=${hex(new Uint8Array(await crypto.subtle.sign('HMAC', key, body)))}`
}

const sha256 = async (text: string) => hex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))))
const newSha = () => hex(crypto.getRandomValues(new Uint8Array(20)))
const newDelivery = () => crypto.randomUUID()

interface DeliveryOptions {
  hook?: string
  delivery?: string
  /** Signature header to send instead of a correct one; `null` sends none. */
  signature?: string | null
  /** Sign these bytes instead of the body sent (tamper tests). */
  signAs?: Uint8Array
  contentType?: string
}

/** POST a delivery of `event` as GitHub does. */
async function deliver(event: string, payload: unknown, options: DeliveryOptions = {}): Promise<Response> {
  const body = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload))
  const signature = options.signature === undefined ? await githubSignature(options.signAs ?? body) : options.signature
  return exports.default.fetch(`${EDGE}/v1/github/${options.hook ?? 'ci'}`, {
    method: 'POST',
    body,
    headers: {
      'content-type': options.contentType ?? 'application/json',
      'user-agent': 'GitHub-Hookshot/test',
      'x-github-event': event,
      'x-github-delivery': options.delivery ?? newDelivery(),
      'x-github-hook-id': '4711',
      ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
    },
  })
}

const push = (ref: string, after = newSha(), fields: Record<string, unknown> = {}) => ({
  ref,
  before: newSha(),
  after,
  created: false,
  deleted: false,
  forced: false,
  pusher: { name: 'mona', email: 'mona@example.com' },
  head_commit: { id: after, message: 'Ship it' },
  repository: { full_name: 'octo/app', name: 'app' },
  sender: { login: 'mona' },
  ...fields,
})

interface DeliveryAnswer {
  ok: boolean
  delivery: string
  queued: { rule: number; cluster: string; name: string; id: string; sequence: number }[]
  note?: string
}

/** The events a bridge would receive after `after`, with their payloads as text. */
async function queuedAfter(after: number) {
  const res = await bridge(cluster, 'poll', { bridgeId: 'github-test', after, limit: 1000, waitMs: 0 })
  expect(res.status).toBe(200)
  const page = (await res.json()) as {
    events: { sequence: number; name: string; payloadBase64: string; coalesce: boolean }[]
  }
  return page.events.map(({ sequence, name, payloadBase64, coalesce }) => ({
    sequence,
    name,
    payload: new TextDecoder().decode(Uint8Array.from(atob(payloadBase64), (ch) => ch.charCodeAt(0))),
    coalesce,
  }))
}

/** The highest sequence queued so far: a mark to see what a test's deliveries queue. */
async function lastSequence(): Promise<number> {
  return (await queuedAfter(0)).at(-1)?.sequence ?? 0
}

async function auditAfter(seq: number) {
  const res = await get(`/v1/clusters/${cluster}/audit?after=${seq}&limit=500`)
  expect(res.status).toBe(200)
  return ((await res.json()) as AuditPage).records
}

async function auditMark(): Promise<number> {
  return (await auditAfter(0)).at(-1)?.seq ?? 0
}

describe('a push to main fires the rules that match it', () => {
  it('queues deploy with the commit SHA and push-log, in rule order, as the bridge will emit them', async () => {
    const mark = await lastSequence()
    const sha = newSha()
    const delivery = newDelivery()
    const res = await deliver('push', push('refs/heads/main', sha), { delivery })
    expect(res.status).toBe(202)
    const answer = (await res.json()) as DeliveryAnswer
    expect(answer).toMatchObject({ ok: true, delivery })
    expect(answer.queued.map(({ rule, cluster, name }) => [rule, cluster, name])).toEqual([
      [0, 'github', 'deploy'],
      [1, 'github', 'push-log'],
    ])
    expect(await queuedAfter(mark)).toEqual([
      { sequence: answer.queued[0]!.sequence, name: 'deploy', payload: sha, coalesce: true },
      { sequence: answer.queued[1]!.sequence, name: 'push-log', payload: `mona pushed ${sha}`, coalesce: false },
    ])
  })

  it('records each in the audit trail with door github, the repository as principal, and the delivery', async () => {
    const start = await auditMark()
    const sha = newSha()
    const delivery = newDelivery()
    const answer = (await (await deliver('push', push('refs/heads/main', sha), { delivery })).json()) as DeliveryAnswer
    const records = await auditAfter(start)
    expect(records.map((r) => [r.door, r.principal, r.channel, r.decision, r.name, r.eventId])).toEqual([
      ['github', 'github:octo/app', `ci/${delivery}`, 'queued', 'deploy', answer.queued[0]!.id],
      ['github', 'github:octo/app', `ci/${delivery}`, 'queued', 'push-log', answer.queued[1]!.id],
    ])
    expect(records[0]!.payloadSha256).toBe(await sha256(sha))
  })
})

describe('a redelivery queues nothing twice', () => {
  it('the same X-GitHub-Delivery answers the same events and queues nothing', async () => {
    const delivery = newDelivery()
    const payload = push('refs/heads/main')
    const first = await deliver('push', payload, { delivery })
    expect(first.status).toBe(202)
    const original = (await first.json()) as DeliveryAnswer
    const start = await auditMark()
    const again = await deliver('push', payload, { delivery })
    expect(again.status).toBe(202)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(await again.json()).toEqual(original)
    expect(await queuedAfter(original.queued[1]!.sequence)).toEqual([])
    expect((await auditAfter(start)).map((r) => [r.decision, r.eventId])).toEqual([
      ['replayed', original.queued[0]!.id],
      ['replayed', original.queued[1]!.id],
    ])
  })
})

describe('deliveries that match no rule are answered 2xx and fire nothing', () => {
  it.each([
    {
      what: 'a push to another branch',
      event: 'push',
      payload: push('refs/heads/feature/x'),
      note: /no rule of GitHub hook "ci" matches push, ref refs\/heads\/feature\/x, repository octo\/app; nothing fired/,
    },
    {
      what: 'a push deleting main',
      event: 'push',
      payload: push('refs/heads/main', '0'.repeat(40), { deleted: true, head_commit: null }),
      note: /push deletes refs\/heads\/main: a deletion fires nothing/,
    },
    {
      what: 'an event no rule names',
      event: 'star',
      payload: { action: 'created', repository: { full_name: 'octo/app' } },
      note: /matches star, action created/,
    },
    {
      what: 'a release created, not published',
      event: 'release',
      payload: { action: 'created', release: { tag_name: 'v2' }, repository: { full_name: 'octo/app' } },
      note: /matches release, action created, ref refs\/tags\/v2/,
    },
    {
      what: 'a workflow run on main that failed',
      event: 'workflow_run',
      payload: {
        action: 'completed',
        workflow_run: { name: 'CI', conclusion: 'failure', head_branch: 'main', head_sha: newSha() },
        repository: { full_name: 'octo/app' },
      },
      note: /matches workflow_run, action completed, ref refs\/heads\/main/,
    },
  ])('$what', async ({ event, payload, note }) => {
    const mark = await lastSequence()
    const res = await deliver(event, payload)
    expect(res.status).toBe(200)
    const answer = (await res.json()) as DeliveryAnswer
    expect(answer.queued).toEqual([])
    expect(answer.note).toMatch(note)
    expect(await queuedAfter(mark)).toEqual([])
  })

  it('ping is answered 200 and fires nothing', async () => {
    const mark = await lastSequence()
    const res = await deliver('ping', { zen: 'Design for failure.', hook_id: 4711 })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ ok: true, queued: [], note: expect.stringMatching(/^pong/) })
    expect(await queuedAfter(mark)).toEqual([])
  })
})

describe('other events fire with fields of their own', () => {
  it('a published release fires release with its tag', async () => {
    const mark = await lastSequence()
    const payload = {
      action: 'published',
      release: { tag_name: 'v1.4.2', draft: false },
      repository: { full_name: 'octo/app' },
    }
    expect((await deliver('release', payload)).status).toBe(202)
    expect(await queuedAfter(mark)).toMatchObject([{ name: 'release', payload: 'v1.4.2' }])
  })

  it('a successful workflow run on main fires ci-passed with its name and head SHA', async () => {
    const mark = await lastSequence()
    const sha = newSha()
    const payload = {
      action: 'completed',
      workflow_run: { name: 'CI', conclusion: 'success', head_branch: 'main', head_sha: sha },
      repository: { full_name: 'octo/app' },
    }
    expect((await deliver('workflow_run', payload)).status).toBe(202)
    expect(await queuedAfter(mark)).toMatchObject([{ name: 'ci-passed', payload: `CI ${sha}` }])
  })
})

describe('refusals', () => {
  it('a template field the delivery lacks refuses the delivery, queues nothing, and is in the audit trail', async () => {
    const mark = await lastSequence()
    const start = await auditMark()
    const res = await deliver('deployment', {
      action: 'created',
      deployment: { sha: newSha() },
      repository: { full_name: 'octo/app' },
    })
    expect(res.status).toBe(422)
    const detail =
      'rule 4 of GitHub hook "ci" (deployment → deploy-env): field deployment.environment is not in the delivery'
    expect(await problem(res)).toMatchObject({ type: 'urn:serf-edge:problem:invalid-event', detail })
    expect(await queuedAfter(mark)).toEqual([])
    expect(await auditAfter(start)).toMatchObject([
      {
        door: 'github',
        principal: 'github:octo/app',
        decision: 'refused',
        name: 'deploy-env',
        reason: `invalid-event: ${detail}`,
      },
    ])
  })

  it("a field too long for the cluster's Serf limit is refused by the enqueue path, as from any door", async () => {
    const start = await auditMark()
    const payload = { action: 'opened', issue: { title: 'x'.repeat(600) }, repository: { full_name: 'octo/app' } }
    const res = await deliver('issues', payload)
    expect(res.status).toBe(413)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:event-too-large')
    expect((await auditAfter(start)).map((r) => [r.door, r.decision, r.reason?.split(':')[0]])).toEqual([
      ['github', 'refused', 'event-too-large'],
    ])
  })

  it('a repository outside the hook’s allow-list is forbidden and recorded', async () => {
    const start = await auditMark()
    const res = await deliver('push', push('refs/heads/main', newSha(), { repository: { full_name: 'mallory/app' } }))
    expect(res.status).toBe(403)
    expect((await problem(res)).detail).toBe('GitHub hook "ci" does not accept deliveries from repository mallory/app')
    expect(await auditAfter(start)).toMatchObject([{ principal: 'github:mallory/app', decision: 'refused' }])
  })

  it('a missing, malformed or wrong signature is 401 and queues nothing', async () => {
    const mark = await lastSequence()
    const payload = push('refs/heads/main')
    const body = encoder.encode(JSON.stringify(payload))
    const tampered = body.slice()
    tampered[tampered.indexOf(0x6d)] = 0x4d // one byte: an `m` of "main" or "mona" becomes `M`
    const cases: [DeliveryOptions, RegExp][] = [
      [{ signature: null }, /no X-Hub-Signature-256 header/],
      [{ signature: 'sha1=0123456789abcdef0123456789abcdef01234567' }, /is not sha256=/],
      [{ signature: await githubSignature(body, 'not the secret') }, /does not match/],
      [{ signAs: tampered }, /does not match/],
    ]
    for (const [options, detail] of cases) {
      const res = await deliver('push', payload, options)
      expect(res.status).toBe(401)
      const answer = await problem(res)
      expect(answer.type).toBe('urn:serf-edge:problem:unauthenticated')
      expect(answer.detail).toMatch(detail)
    }
    expect(await queuedAfter(mark)).toEqual([])
  })

  it('form-encoded deliveries are 415 with a hint to choose application/json', async () => {
    const form = encoder.encode(`payload=${encodeURIComponent(JSON.stringify(push('refs/heads/main')))}`)
    const res = await deliver('push', form, { contentType: 'application/x-www-form-urlencoded' })
    expect(res.status).toBe(415)
    expect((await problem(res)).detail).toMatch(/choose Content type application\/json in the webhook's settings/)
  })

  it('an unknown hook is 404', async () => {
    const res = await deliver('push', push('refs/heads/main'), { hook: 'nope' })
    expect(res.status).toBe(404)
    expect((await problem(res)).detail).toBe('no GitHub hook "nope" (GITHUB_HOOKS)')
  })

  it('a delivery over 1 MiB is 413 before it is read', async () => {
    const huge = push('refs/heads/main', newSha(), { padding: 'x'.repeat(1024 * 1024) })
    const res = await deliver('push', huge)
    expect(res.status).toBe(413)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:body-too-large')
  })
})

describe('logging', () => {
  it('writes one JSON line per delivery, refused ones included', async () => {
    const log = vi.spyOn(console, 'log')
    try {
      const [unmatched, unsigned, lost] = [newDelivery(), newDelivery(), newDelivery()]
      expect((await deliver('push', push('refs/heads/feature/x'), { delivery: unmatched })).status).toBe(200)
      expect((await deliver('push', push('refs/heads/main'), { delivery: unsigned, signature: null })).status).toBe(401)
      expect((await deliver('push', push('refs/heads/main'), { delivery: lost, hook: 'nope' })).status).toBe(404)
      const lines = log.mock.calls
        .map(([line]) => JSON.parse(String(line)) as Record<string, unknown>)
        .filter((line) => line.msg === 'github delivery')
      expect(lines).toEqual([
        {
          level: 'info',
          msg: 'github delivery',
          hook: 'ci',
          delivery: unmatched,
          event: 'push',
          status: 200,
          outcome: 'no-match',
          queued: [],
        },
        {
          level: 'warn',
          msg: 'github delivery',
          hook: 'ci',
          delivery: unsigned,
          event: 'push',
          status: 401,
          outcome: 'refused',
          queued: [],
          problem: 'unauthenticated',
          detail: 'GitHub hook "ci": no X-Hub-Signature-256 header: give the webhook a secret in its settings',
        },
        expect.objectContaining({ hook: 'nope', delivery: lost, status: 404, problem: 'not-found' }),
      ])
    } finally {
      log.mockRestore()
    }
  })
})
