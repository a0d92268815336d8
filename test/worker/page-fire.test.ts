/**
 * Firing from the page: every action signed by the operator's passkey over a challenge that
 * binds the exact event and a single-use nonce of at most 120 s. A replayed, tampered, late or
 * unverified assertion fires nothing; every attempt is in the cluster's audit trail.
 */
import { describe, expect, it } from 'vitest'
import { pageActions } from './bindings/page.ts'
import { inQueue, post, problem } from './helpers.ts'
import {
  auditAfter,
  auditMark,
  type ChallengeAnswer,
  challenge,
  countQueued,
  enrolPhone,
  expectedChallenge,
  expectJson,
  fireAction,
  fireSigned,
  inDirectory,
  type PageEvent,
  type Phone,
  pageGet,
  pagePost,
  sign,
} from './page-requests.ts'

const restart: PageEvent = { cluster: 'page-ops', name: 'restart', payload: 'web', coalesce: true }
const deploy = (version: string): PageEvent => ({
  cluster: 'page-ops',
  name: 'deploy',
  payload: version,
  coalesce: false,
})
const restartAction = { event: restart, action: pageActions.restart.id }
const deployAction = (version: string) => ({ event: deploy(version), action: pageActions.deploy.id })

type Fired = { event: { id: string; cluster: string; sequence: number; status: string } }
type StoredEvent = { name: string; payload: ArrayBuffer; sender: string; coalesce_flag: number }
const stored = (cluster: string, id: string) =>
  inQueue(cluster, (sql) => sql.exec<StoredEvent>('SELECT * FROM events WHERE id = ?', id).toArray()[0])

/** One enrolled phone per operator for the tests that need no device of their own. */
const phones = new Map<string, Promise<Phone>>()
const phoneOf = (operator: string) => {
  if (!phones.has(operator)) phones.set(operator, enrolPhone(operator))
  return phones.get(operator)!
}

/** Expect `res` to be the problem `slug` with `status`. */
async function refused(res: Response, status: number, slug: string) {
  const body = await problem(res)
  expect({ status: res.status, type: body.type }, body.detail).toEqual({
    status,
    type: `urn:serf-edge:problem:${slug}`,
  })
  return body
}

describe('a quick action: challenge, signature, one event queued', () => {
  it('the challenge binds the exact event and a fresh nonce; the options allow only this session’s passkey', async () => {
    const alice = await phoneOf('alice')
    const res = await challenge(alice, restartAction)
    const answer = await expectJson<ChallengeAnswer>(res, 200)
    expect(answer.challenge).toBe(await expectedChallenge(restart, answer.nonce))
    expect(answer.options.challenge).toBe(answer.challenge)
    expect(answer.options.rpId).toBe('edge.test')
    expect(answer.options.userVerification).toBe('required')
    expect(answer.options.allowCredentials?.map((c) => c.id)).toEqual([alice.authenticator.id])
    const ttl = Date.parse(answer.expiresAt) - Date.now()
    expect(ttl).toBeGreaterThan(60_000)
    expect(ttl).toBeLessThanOrEqual(120_000)
    const other = await expectJson<{ nonce: string }>(await challenge(alice, restartAction), 200)
    expect(other.nonce).not.toBe(answer.nonce)
  })

  it('a signed tap queues the event as page:<operator>; its status and the audit trail follow it', async () => {
    const alice = await phoneOf('alice')
    const mark = await auditMark('page-ops')
    const { res } = await fireAction(alice, restartAction)
    const { event } = await expectJson<Fired>(res, 202)
    expect(event).toMatchObject({ cluster: 'page-ops', status: 'queued', id: expect.stringMatching(/^evt_/) })
    const row = await stored('page-ops', event.id)
    expect(row).toMatchObject({ name: 'restart', sender: 'page:alice', coalesce_flag: 1 })
    expect(new TextDecoder().decode(row!.payload)).toBe('web')

    const status = await expectJson<Record<string, unknown>>(
      await pageGet(`/app/api/clusters/page-ops/events/${event.id}`, { cookie: alice.cookie }),
      200,
    )
    expect(status).toMatchObject({ id: event.id, cluster: 'page-ops', name: 'restart', status: 'queued' })
    const recent = await expectJson<{ cluster: string; events: { id: string; principal: string }[] }>(
      await pageGet('/app/api/clusters/page-ops/events', { cookie: alice.cookie }),
      200,
    )
    expect(recent.events[0]).toMatchObject({ id: event.id, principal: 'page:alice', name: 'restart' })

    const records = await auditAfter('page-ops', mark)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      door: 'page',
      principal: 'page:alice',
      channel: `passkey:${alice.authenticator.id}`,
      decision: 'queued',
      name: 'restart',
      eventId: event.id,
    })
  })

  it('an asked payload matching its pattern is fired as typed, not coalesced', async () => {
    const alice = await phoneOf('alice')
    const { res } = await fireAction(alice, deployAction('v1.4.2'))
    const { event } = await expectJson<Fired>(res, 202)
    const row = await stored('page-ops', event.id)
    expect(row).toMatchObject({ name: 'deploy', coalesce_flag: 0 })
    expect(new TextDecoder().decode(row!.payload)).toBe('v1.4.2')
  })

  it('the custom form fires any event within the operator’s scope', async () => {
    const carol = await phoneOf('carol')
    const event: PageEvent = { cluster: 'page-custom', name: 'custom-ping', payload: 'hello', coalesce: true }
    const { res } = await fireAction(carol, { event })
    expect((await expectJson<Fired>(res, 202)).event.cluster).toBe('page-custom')
  })

  it('an operator reads the statuses of the clusters in its scope only', async () => {
    const alice = await phoneOf('alice')
    const { event } = await expectJson<Fired>((await fireAction(alice, restartAction)).res, 202)
    const bob = await phoneOf('bob')
    expect((await pageGet(`/app/api/clusters/page-ops/events/${event.id}`, { cookie: bob.cookie })).status).toBe(200)
    const carol = await phoneOf('carol')
    for (const path of [`/app/api/clusters/page-ops/events/${event.id}`, '/app/api/clusters/page-ops/events']) {
      await refused(await pageGet(path, { cookie: carol.cookie }), 403, 'forbidden')
    }
    const unknown = await pageGet('/app/api/clusters/page-ops/events/evt_00000000000000000000000000000000', {
      cookie: alice.cookie,
    })
    expect(unknown.status).toBe(404)
  })
})

describe('a replayed, tampered or late assertion fires nothing', () => {
  it('the same signed request twice queues one event', async () => {
    const alice = await phoneOf('alice')
    const signed = await sign(alice, restartAction)
    expect((await fireSigned(alice, signed.body)).status).toBe(202)
    const before = await countQueued('page-ops', 'restart')
    await refused(await fireSigned(alice, signed.body), 409, 'nonce-invalid')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
  })

  it('an event changed after signing is refused, its nonce spent', async () => {
    const alice = await phoneOf('alice')
    const before = await countQueued('page-ops', 'deploy')
    const signed = await sign(alice, deployAction('v1.0.0'))
    const tampered = { ...signed.body, event: deploy('v6.6.6') }
    await refused(await fireSigned(alice, tampered), 409, 'nonce-invalid')
    await refused(await fireSigned(alice, signed.body), 409, 'nonce-invalid')
    expect(await countQueued('page-ops', 'deploy')).toBe(before)

    // The custom form, where no quick action pins the event: each field is bound by the signature.
    const carol = await phoneOf('carol')
    const note: PageEvent = { cluster: 'page-custom', name: 'note', payload: 'hello', coalesce: true }
    for (const change of [{ payload: 'hullo' }, { coalesce: false }, { name: 'custom-x' }]) {
      const custom = await sign(carol, { event: note })
      const res = await fireSigned(carol, { ...custom.body, event: { ...note, ...change } })
      await refused(res, 409, 'nonce-invalid')
    }
    expect(await countQueued('page-custom', 'note')).toBe(0)
    expect(await countQueued('page-custom', 'custom-x')).toBe(0)
  })

  it('a nonce over 120 s old is refused, and one the edge never issued', async () => {
    const alice = await phoneOf('alice')
    const before = await countQueued('page-ops', 'restart')
    const signed = await sign(alice, restartAction)
    await inDirectory((sql) =>
      sql.exec('UPDATE nonces SET expires_at = ? WHERE nonce = ?', Date.now() - 1, signed.answer.nonce),
    )
    await refused(await fireSigned(alice, signed.body), 409, 'nonce-invalid')
    const made = await sign(alice, restartAction)
    const nonce = 'never-issued-nonce-never-issued-nonce'
    const response = await alice.authenticator.assert(
      { ...made.answer.options, challenge: await expectedChallenge(restart, nonce) },
      { origin: 'https://edge.test' },
    )
    await refused(await fireSigned(alice, { ...restartAction, nonce, response }), 409, 'nonce-invalid')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
  })
})

describe('the passkey must verify: user verification, signature, counter, owner, not revoked', () => {
  it.each([
    ['without user verification', { userVerified: false }],
    ['without user presence', { userPresent: false }],
    ['with a bogus signature', { bogusSignature: true }],
    ['for another origin', { origin: 'https://evil.test' }],
    ['for another RP id', { rpId: 'evil.test' }],
  ])('refuses an assertion %s', async (_, ceremony) => {
    const alice = await phoneOf('alice')
    const before = await countQueued('page-ops', 'restart')
    const { res } = await fireAction(alice, restartAction, ceremony)
    await refused(res, 401, 'passkey-rejected')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
  })

  it('refuses a signature counter that does not move forward', async () => {
    const phone = await enrolPhone('alice')
    expect((await fireAction(phone, restartAction, { counter: 1000 })).res.status).toBe(202)
    const before = await countQueued('page-ops', 'restart')
    await refused((await fireAction(phone, restartAction, { counter: 500 })).res, 401, 'passkey-rejected')
    await refused((await fireAction(phone, restartAction, { counter: 1000 })).res, 401, 'passkey-rejected')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
    expect((await fireAction(phone, restartAction, { counter: 1001 })).res.status).toBe(202)
  })

  it('accepts a passkey whose counter stays at zero, as synced passkeys report it', async () => {
    const phone = await enrolPhone('alice')
    for (let i = 0; i < 2; i++) {
      expect((await fireAction(phone, restartAction, { counter: 0 })).res.status).toBe(202)
    }
  })

  it('refuses another operator’s passkey, even over this session’s challenge', async () => {
    const alice = await phoneOf('alice')
    const bob = await phoneOf('bob')
    const before = await countQueued('page-ops', 'restart')
    const signed = await sign(alice, restartAction, { ignoreOptions: true }, bob.authenticator)
    await refused(await fireSigned(alice, signed.body), 401, 'passkey-rejected')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
  })

  it('a revoked device fires nothing: not with its session, not over another session’s challenge', async () => {
    const phone = await enrolPhone('alice')
    const other = await enrolPhone('alice')
    const own = await sign(phone, restartAction)
    const borrowed = await sign(other, restartAction, { ignoreOptions: true }, phone.authenticator)
    const before = await countQueued('page-ops', 'restart')
    expect((await post(`/v1/operators/devices/${phone.device.id}/revoke`, {})).status).toBe(200)
    await refused(await fireSigned(phone, own.body), 401, 'session-required')
    await refused(await fireSigned(other, borrowed.body), 401, 'passkey-rejected')
    expect(await countQueued('page-ops', 'restart')).toBe(before)
  })

  it('without a session there is neither challenge nor fire', async () => {
    const alice = await phoneOf('alice')
    const signed = await sign(alice, restartAction)
    await refused(await pagePost('/app/api/actions/challenge', restartAction), 401, 'session-required')
    await refused(await pagePost('/app/api/actions/fire', signed.body), 401, 'session-required')
  })
})

describe('scope: the operator’s patterns, the action’s payload, Serf’s size limit', () => {
  const cases: [string, string, Record<string, unknown>, number, string][] = [
    [
      'an event outside the operator’s patterns (custom form)',
      'carol',
      { event: { cluster: 'page-custom', name: 'reboot', payload: '', coalesce: true } },
      403,
      'forbidden',
    ],
    [
      'a cluster outside the operator’s scope',
      'carol',
      { event: { cluster: 'page-ops', name: 'note', payload: '', coalesce: true } },
      403,
      'forbidden',
    ],
    ['an event without a quick action, with no custom form', 'alice', { event: restart }, 403, 'forbidden'],
    [
      'another operator’s quick action',
      'bob',
      { event: deploy('v1.0.0'), action: pageActions.deploy.id },
      403,
      'forbidden',
    ],
    ['an asked payload not matching its pattern', 'alice', deployAction('latest; rm -rf /'), 422, 'invalid-event'],
    [
      'a fixed payload changed',
      'alice',
      { ...restartAction, event: { ...restart, payload: 'db' } },
      422,
      'invalid-event',
    ],
    [
      'the action’s coalesce flag changed',
      'alice',
      { ...restartAction, event: { ...restart, coalesce: false } },
      422,
      'invalid-event',
    ],
    [
      'a payload over the cluster’s Serf size limit',
      'carol',
      { event: { cluster: 'page-custom', name: 'note', payload: 'x'.repeat(600), coalesce: true } },
      413,
      'event-too-large',
    ],
  ]

  it.each(cases)('refuses %s before signing, and records the refusal', async (_, operator, request, status, slug) => {
    const phone = await phoneOf(operator)
    const { cluster, name } = request.event as PageEvent
    const before = await countQueued(cluster, name)
    const mark = await auditMark(cluster)
    await refused(await pagePost('/app/api/actions/challenge', request, { cookie: phone.cookie }), status, slug)
    expect(await countQueued(cluster, name)).toBe(before)
    const records = await auditAfter(cluster, mark)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      door: 'page',
      principal: `page:${operator}`,
      channel: `passkey:${phone.authenticator.id}`,
      decision: 'refused',
      name,
    })
    expect(records[0]!.reason).toMatch(new RegExp(`^${slug}: `))
  })

  it('refuses an unknown cluster', async () => {
    const alice = await phoneOf('alice')
    const event = { ...restart, cluster: 'nope' }
    await refused(await challenge(alice, { event, action: pageActions.restart.id }), 404, 'unknown-cluster')
  })

  it('records refused fires as well', async () => {
    const alice = await phoneOf('alice')
    const mark = await auditMark('page-ops')
    await refused((await fireAction(alice, restartAction, { userVerified: false })).res, 401, 'passkey-rejected')
    const records = await auditAfter('page-ops', mark)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      door: 'page',
      principal: 'page:alice',
      channel: `passkey:${alice.authenticator.id}`,
      decision: 'refused',
    })
    expect(records[0]!.reason).toMatch(/^passkey-rejected: /)
  })
})
