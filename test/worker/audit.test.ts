/** The audit trail: every attempt through the API door, refusals included, read by senders allowed to. */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { AuditPage, AuditRecord } from '../../protocol/audit.ts'
import { bridge, fire, get, newId, post, problem } from './helpers.ts'

const cluster = 'staging'
const events = `/v1/clusters/${cluster}/events`

/** Hex SHA-256, computed here with WebCrypto. */
async function sha256(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

async function readAudit(query: string, sender = 'ci'): Promise<AuditPage> {
  const res = await get(`/v1/clusters/${cluster}/audit?${query}`, { sender })
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as AuditPage
}

/** The records of this test: those after the trail's last record when it started. */
async function mark(): Promise<number> {
  let after = 0
  for (;;) {
    const page = await readAudit(`after=${after}&limit=500`)
    after = page.records.at(-1)?.seq ?? after
    if (page.next === undefined) return after
  }
}

describe('every attempt is recorded, refusals included', () => {
  it('queued, replayed and each kind of refusal, with principal, payload hash, reason and event id', async () => {
    const start = await mark()
    const id = newId()
    const accepted = await fire(cluster, { name: 'deploy', payload: 'v1.4.2' }, { id })
    expect((await post(events, { cluster, name: 'deploy', payload: 'v1.4.2' }, { id })).status).toBe(202)
    const refusals = [
      await post(events, { cluster, name: 'reboot' }, { sender: 'chatops' }),
      await post(events, { cluster, name: 'big', payload: 'x'.repeat(500) }),
      await post(events, { cluster, name: 'bad\u0007name' }),
      await post(events, { cluster, name: 'rollback' }, { id }),
      await post(events, { cluster: 'prod', name: 'elsewhere' }),
    ]
    expect(refusals.map((res) => res.status)).toEqual([403, 413, 422, 409, 400])

    const { records } = await readAudit(`after=${start}`)
    const summary = records.map((r) => [r.principal, r.decision, r.name, r.reason?.split(':')[0]])
    expect(summary).toEqual([
      ['ci', 'queued', 'deploy', undefined],
      ['ci', 'replayed', 'deploy', undefined],
      ['chatops', 'refused', 'reboot', 'forbidden'],
      ['ci', 'refused', 'big', 'event-too-large'],
      ['ci', 'refused', 'bad\u0007name', 'invalid-event'],
      ['ci', 'refused', 'rollback', 'request-id-reused'],
      ['ci', 'refused', 'elsewhere', 'cluster-mismatch'],
    ])
    const [queued, replayed, forbidden] = records as [AuditRecord, AuditRecord, AuditRecord]
    expect(queued).toMatchObject({
      door: 'api',
      cluster,
      eventId: accepted.id,
      status: 'queued',
      payloadSha256: await sha256('v1.4.2'),
    })
    expect(replayed.eventId).toBe(accepted.id)
    expect(forbidden.reason).toBe('forbidden: sender "chatops" may not fire event "reboot"')
    expect(forbidden.payloadSha256).toBe(await sha256(''))
    expect(Date.parse(queued.at)).toBeGreaterThan(Date.now() - 60_000)
  })

  it("a record shows its event's final status once the bridge settles it", async () => {
    const start = await mark()
    const accepted = await fire(cluster, { name: 'deploy', payload: 'settle-me' })
    const poll = await bridge(cluster, 'poll', { bridgeId: 'audit-bridge', after: 0, limit: 1000, waitMs: 0 })
    const page = (await poll.json()) as { lease: { token: number }; events: { sequence: number; id: string }[] }
    const through = page.events.find((e) => e.id === accepted.id)!.sequence
    const ack = await bridge(cluster, 'ack', { bridgeId: 'audit-bridge', leaseToken: page.lease.token, through })
    expect(ack.status).toBe(200)
    const { records } = await readAudit(`after=${start}`)
    expect(records.find((r) => r.eventId === accepted.id)).toMatchObject({ decision: 'queued', status: 'delivered' })
  })
})

describe('reading the trail', () => {
  it('filters by principal and time, and pages with after/next', async () => {
    const start = await mark()
    for (const name of ['deploy', 'restart-web', 'deploy']) {
      expect((await post(events, { cluster, name }, { sender: 'chatops' })).status).toBe(202)
    }
    await fire(cluster, { name: 'by-ci' })
    const chatops = await readAudit(`after=${start}&principal=chatops`)
    expect(chatops.records.map((r) => r.name)).toEqual(['deploy', 'restart-web', 'deploy'])
    const first = await readAudit(`after=${start}&limit=2`)
    expect(first.records).toHaveLength(2)
    expect(first.next).toBe(first.records[1]!.seq)
    const rest = await readAudit(`after=${first.next}&limit=2`)
    expect(rest.records.map((r) => r.name)).toEqual(['deploy', 'by-ci'])
    expect(rest.next).toBeUndefined()
    const future = new Date(Date.now() + 60_000).toISOString()
    expect((await readAudit(`since=${encodeURIComponent(future)}`)).records).toEqual([])
  })

  it('needs the audit permission, a valid query and a signature', async () => {
    const forbidden = await get(`/v1/clusters/${cluster}/audit`, { sender: 'chatops' })
    expect(forbidden.status).toBe(403)
    expect((await problem(forbidden)).detail).toMatch(/may not read the audit trail of cluster "staging"/)
    for (const query of ['limit=0', 'limit=501', 'since=yesterday', 'after=-1', 'colour=blue']) {
      const res = await get(`/v1/clusters/${cluster}/audit?${query}`)
      expect(res.status, query).toBe(422)
      expect((await problem(res)).type).toBe('urn:serf-edge:problem:invalid-request')
    }
    const unsigned = await get(`/v1/clusters/${cluster}/audit`, { signAs: `/v1/clusters/${cluster}/audit?limit=1` })
    expect(unsigned.status).toBe(401)
  })
})

describe('retention', () => {
  it("the alarm forgets records older than the cluster's retention and keeps the rest", async () => {
    const start = await mark()
    await fire(cluster, { name: 'recent' })
    const stub = env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec(
        `INSERT INTO audit (at, door, principal, name, decision) VALUES (?, 'api', 'ci', 'ancient', 'queued')`,
        Date.now() - 2 * 86_400_000,
      )
    })
    expect((await readAudit(`after=${start}`)).records.map((r) => r.name)).toEqual(['recent', 'ancient'])
    expect(await runDurableObjectAlarm(stub)).toBe(true)
    expect((await readAudit(`after=${start}`)).records.map((r) => r.name)).toEqual(['recent'])
  })
})
