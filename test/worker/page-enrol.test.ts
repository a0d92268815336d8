/**
 * Enrolling an operator's phone: a one-time invite from a signed admin request, a passkey with
 * user verification (ES256, EdDSA or RS256), a short HttpOnly session; devices listed and
 * revoked by the admin API, a revocation effective at once.
 */
import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { Device, Me } from '../../protocol/page.ts'
import { type Algorithm, type CreationOptions, type RequestOptions, SoftAuthenticator } from './authenticator.ts'
import { pageActions } from './bindings/page.ts'
import { EDGE, get, post, problem } from './helpers.ts'
import {
  enrolOptions,
  enrolPhone,
  expectJson,
  inDirectory,
  invite,
  pageFetch,
  pageGet,
  pagePost,
  setCookie,
  signIn,
} from './page-requests.ts'

const devices = async (query = '') =>
  (await expectJson<{ devices: Device[] }>(await get(`/v1/operators/devices${query}`), 200)).devices

/** Enrol `authenticator` on a fresh invite of `operator`, changing the ceremony; the raw answer. */
async function attemptEnrol(
  operator: string,
  authenticator: SoftAuthenticator,
  ceremony: Record<string, unknown> = {},
) {
  const { token } = await invite(operator)
  const { options } = await enrolOptions(token)
  const response = await authenticator.register(options, { origin: EDGE, ...ceremony })
  return { token, res: await pagePost('/app/api/enrol', { invite: token, deviceName: 'phone', response }) }
}

describe('invites: a signed admin request, a link valid 15 minutes, the token in its fragment', () => {
  it('a sender allowed to manage the operator gets the link', async () => {
    const before = Date.now()
    const answer = await invite('alice')
    expect(answer.operator).toBe('alice')
    expect(`${answer.link.origin}${answer.link.pathname}`).toBe(`${EDGE}/app/`)
    expect(answer.link.search).toBe('')
    expect(answer.token.length).toBeGreaterThanOrEqual(32)
    const ttl = Date.parse(answer.expiresAt) - before
    expect(ttl).toBeGreaterThan(14 * 60_000)
    expect(ttl).toBeLessThanOrEqual(15 * 60_000 + 5_000)
  })

  it('refuses a sender without the operators permission, an unknown operator and an unsigned request', async () => {
    const refused = await post('/v1/operators/alice/invites', {}, { sender: 'chatops' })
    expect(refused.status).toBe(403)
    expect((await problem(refused)).type).toBe('urn:serf-edge:problem:forbidden')
    const unknown = await post('/v1/operators/zed/invites', {})
    expect(unknown.status).toBe(404)
    expect((await problem(unknown)).type).toBe('urn:serf-edge:problem:unknown-operator')
    const unsigned = await pageFetch('POST', '/v1/operators/alice/invites', {}, { origin: null })
    expect(unsigned.status).toBe(401)
  })
})

describe('enrolment: a passkey with user verification, registered for the invite’s operator', () => {
  it('the options: this host as RP, user verification and a discoverable credential required, three algorithms', async () => {
    const { token } = await invite('alice')
    const answer = await enrolOptions(token)
    expect(answer.operator).toBe('alice')
    const options = answer.options as CreationOptions & {
      rp: { id: string }
      user: { name: string }
      authenticatorSelection: Record<string, unknown>
      pubKeyCredParams: { alg: number }[]
      attestation?: string
    }
    expect(options.rp.id).toBe('edge.test')
    expect(options.user.name).toBe('alice')
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{22,}$/)
    expect(options.authenticatorSelection).toMatchObject({ userVerification: 'required', residentKey: 'required' })
    expect(options.pubKeyCredParams.map((p) => p.alg).sort((a, b) => a - b)).toEqual([-257, -8, -7])
    expect(['none', undefined]).toContain(options.attestation)
  })

  it.each<Algorithm>(['ES256', 'EdDSA', 'RS256'])('a %s passkey is enrolled and signs in', async (algorithm) => {
    const phone = await enrolPhone('alice', { algorithm, deviceName: `pixel ${algorithm}` })
    expect(phone.operator).toBe('alice')
    expect(phone.device).toMatchObject({ id: expect.stringMatching(/^dev_/), name: `pixel ${algorithm}` })
    const me = await expectJson<{ operator: string; device: { id: string } }>(
      await pageGet('/app/api/me', { cookie: phone.cookie }),
      200,
    )
    expect(me).toMatchObject({ operator: 'alice', device: { id: phone.device.id } })

    const res = await signIn(phone.authenticator)
    const cookie = setCookie(res)?.value
    expect(await expectJson(res, 200)).toMatchObject({ operator: 'alice', device: { id: phone.device.id } })
    expect((await pageGet('/app/api/me', { cookie })).status).toBe(200)
    const [device] = (await devices('?operator=alice')).filter((d) => d.id === phone.device.id)
    expect(device).toMatchObject({ credentialId: phone.authenticator.id, name: `pixel ${algorithm}` })
    expect(device!.lastUsedAt).not.toBeNull()
  })

  it('refuses a registration without user verification, or for another origin or RP, and enrols nothing', async () => {
    const before = (await devices()).length
    for (const ceremony of [{ userVerified: false }, { origin: 'https://evil.test' }, { rpId: 'evil.test' }]) {
      const { res } = await attemptEnrol('alice', await SoftAuthenticator.create(), ceremony)
      expect(res.status, JSON.stringify(ceremony)).toBe(401)
      expect((await problem(res)).type).toBe('urn:serf-edge:problem:passkey-rejected')
      expect(setCookie(res)).toBeUndefined()
    }
    expect((await devices()).length).toBe(before)
  })

  it('an invite’s registration must answer that invite’s own challenge', async () => {
    const first = await invite('alice')
    const second = await invite('alice')
    const { options } = await enrolOptions(first.token)
    await enrolOptions(second.token)
    const response = await (await SoftAuthenticator.create()).register(options, { origin: EDGE })
    const res = await pagePost('/app/api/enrol', { invite: second.token, deviceName: 'crossed', response })
    expect(res.status).toBe(401)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:passkey-rejected')
  })

  it('refuses a body that is not JSON', async () => {
    const { token } = await invite('alice')
    const res = await exports.default.fetch(`${EDGE}/app/api/enrol/options`, {
      method: 'POST',
      headers: { origin: EDGE, 'content-type': 'text/plain' },
      body: JSON.stringify({ invite: token }),
    })
    expect(res.status).toBe(415)
  })

  it('an invite enrols one device: its second use is refused', async () => {
    const authenticator = await SoftAuthenticator.create()
    const { token, res } = await attemptEnrol('alice', authenticator)
    expect(res.status).toBe(201)
    const again = await pagePost('/app/api/enrol/options', { invite: token })
    expect(again.status).toBe(410)
    expect((await problem(again)).type).toBe('urn:serf-edge:problem:invite-invalid')
    const other = await SoftAuthenticator.create()
    const response = await other.register({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA' }, { origin: EDGE })
    const reuse = await pagePost('/app/api/enrol', { invite: token, deviceName: 'second', response })
    expect(reuse.status).toBe(410)
    expect((await problem(reuse)).type).toBe('urn:serf-edge:problem:invite-invalid')
  })

  it('refuses an expired invite and an unknown one', async () => {
    const { token } = await invite('alice')
    const { options } = await enrolOptions(token)
    await inDirectory((sql) => sql.exec('UPDATE invites SET expires_at = ? WHERE used_at IS NULL', Date.now() - 1))
    const response = await (await SoftAuthenticator.create()).register(options, { origin: EDGE })
    const late = await pagePost('/app/api/enrol', { invite: token, deviceName: 'late', response })
    expect(late.status).toBe(410)
    expect((await problem(late)).type).toBe('urn:serf-edge:problem:invite-invalid')
    expect((await pagePost('/app/api/enrol/options', { invite: token })).status).toBe(410)
    expect((await pagePost('/app/api/enrol/options', { invite: 'not-an-invite-token-at-all' })).status).toBe(410)
  })
})

describe('the session: a short HttpOnly cookie, needed to read, never enough to fire', () => {
  it('is __Host- scoped: HttpOnly, Secure, SameSite=Strict, Path=/, no Domain, at most 24 hours', async () => {
    const { token } = await invite('alice')
    const { options } = await enrolOptions(token)
    const response = await (await SoftAuthenticator.create()).register(options, { origin: EDGE })
    const res = await pagePost('/app/api/enrol', { invite: token, deviceName: 'phone', response })
    expect(res.status).toBe(201)
    const cookie = setCookie(res)!
    expect(cookie.value.length).toBeGreaterThanOrEqual(32)
    expect(cookie.attributes.has('httponly')).toBe(true)
    expect(cookie.attributes.has('secure')).toBe(true)
    expect(cookie.attributes.get('samesite')?.toLowerCase()).toBe('strict')
    expect(cookie.attributes.get('path')).toBe('/')
    expect(cookie.attributes.has('domain')).toBe(false)
    const maxAge = Number(cookie.attributes.get('max-age'))
    expect(maxAge).toBeGreaterThan(0)
    expect(maxAge).toBeLessThanOrEqual(24 * 3600)
  })

  it('without a cookie, or with one the edge never issued, /me answers 401 session-required', async () => {
    for (const cookie of [undefined, 'forged-session-token-forged-session-token']) {
      const res = await pageGet('/app/api/me', { cookie })
      expect(res.status).toBe(401)
      // Refusals of the page API are no more cacheable than its answers.
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect((await problem(res)).type).toBe('urn:serf-edge:problem:session-required')
    }
  })

  it('lists what the operator may do: the quick actions, the custom form, the clusters', async () => {
    const alice = await enrolPhone('alice')
    const me = await expectJson<Me>(await pageGet('/app/api/me', { cookie: alice.cookie }), 200)
    expect(Date.parse(me.sessionExpiresAt)).toBeGreaterThan(Date.now())
    expect(me.custom).toBeNull()
    expect(me.clusters).toEqual(['page-ops'])
    expect(me.actions.map((a: { id: string }) => a.id)).toEqual([
      pageActions.restart.id,
      pageActions.deploy.id,
      pageActions.rollback.id,
    ])
    expect(me.actions[0]).toMatchObject({ payload: { kind: 'fixed', value: 'web' }, confirm: 'tap', coalesce: true })
    expect(me.actions[1]).toMatchObject({
      payload: { kind: 'ask', pattern: pageActions.deploy.pattern, label: 'version', example: 'v1.2.3' },
      confirm: 'hold',
      coalesce: false,
    })
    expect(me.actions[2]).toMatchObject({ confirm: 'approval', approvers: ['bob'], danger: true })

    const carol = await enrolPhone('carol')
    const hers = await expectJson<Me>(await pageGet('/app/api/me', { cookie: carol.cookie }), 200)
    expect(hers.actions).toEqual([])
    expect(hers.custom).toEqual({ clusters: ['page-custom'], events: ['note', 'custom-*'] })
  })

  it('a session ends when its time is up', async () => {
    const phone = await enrolPhone('alice')
    await inDirectory((sql) => sql.exec('UPDATE sessions SET expires_at = ?', Date.now() - 1))
    const res = await pageGet('/app/api/me', { cookie: phone.cookie })
    expect(res.status).toBe(401)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:session-required')
  })

  it('a sign-in assertion opens one session: sent again, it is refused', async () => {
    const phone = await enrolPhone('alice')
    const { options } = await expectJson<{ options: RequestOptions }>(
      await pagePost('/app/api/session/options', {}),
      200,
    )
    const response = await phone.authenticator.assert(options, { origin: EDGE })
    expect((await pagePost('/app/api/session', { response })).status).toBe(200)
    const replay = await pagePost('/app/api/session', { response })
    expect(replay.status).toBeGreaterThanOrEqual(400)
    expect(replay.status).toBeLessThan(500)
    expect(setCookie(replay)?.value || undefined).toBeUndefined()
  })

  it('signing out ends the session and clears the cookie', async () => {
    const phone = await enrolPhone('alice')
    const res = await pageFetch('DELETE', '/app/api/session', undefined, { cookie: phone.cookie })
    expect(res.status).toBe(204)
    const cleared = setCookie(res)
    expect(cleared?.value ?? '').toBe('')
    expect(cleared?.attributes.get('max-age')).toBe('0')
    expect((await pageGet('/app/api/me', { cookie: phone.cookie })).status).toBe(401)
  })

  it('refuses to sign in without user verification, with a bogus signature, or with a passkey never enrolled', async () => {
    const phone = await enrolPhone('alice')
    const stranger = await SoftAuthenticator.create()
    for (const [authenticator, ceremony] of [
      [phone.authenticator, { userVerified: false }],
      [phone.authenticator, { bogusSignature: true }],
      [phone.authenticator, { origin: 'https://evil.test' }],
      [stranger, {}],
    ] as const) {
      const res = await signIn(authenticator, ceremony)
      expect(res.status, JSON.stringify(ceremony)).toBe(401)
      expect((await problem(res)).type).toBe('urn:serf-edge:problem:passkey-rejected')
      expect(setCookie(res)?.value || undefined).toBeUndefined()
    }
  })

  it('refuses a state-changing request from another origin', async () => {
    const res = await pagePost('/app/api/session/options', {}, { origin: 'https://evil.test' })
    expect(res.status).toBe(403)
  })
})

describe('devices: listed and revoked by the admin API, revocation effective at once', () => {
  it('lists the devices of one operator or of all', async () => {
    const alice = await enrolPhone('alice', { deviceName: 'alice phone' })
    const bob = await enrolPhone('bob', { deviceName: 'bob phone' })
    const all = await devices()
    expect(all.map((d) => d.id)).toEqual(expect.arrayContaining([alice.device.id, bob.device.id]))
    const hers = await devices('?operator=alice')
    expect(hers.every((d) => d.operator === 'alice')).toBe(true)
    expect(hers.find((d) => d.id === alice.device.id)).toMatchObject({
      operator: 'alice',
      name: 'alice phone',
      credentialId: alice.authenticator.id,
      lastUsedAt: null,
    })
    expect(Date.parse(hers.find((d) => d.id === alice.device.id)!.createdAt)).toBeGreaterThan(Date.now() - 60_000)
  })

  it('a revoked device’s sessions end and its passkey is refused from then on', async () => {
    const phone = await enrolPhone('alice')
    const second = await signIn(phone.authenticator)
    const cookies = [phone.cookie, setCookie(second)!.value]
    const res = await post(`/v1/operators/devices/${phone.device.id}/revoke`, {})
    const { device } = await expectJson<{ device: Device }>(res, 200)
    expect(device).toMatchObject({ id: phone.device.id, operator: 'alice' })
    expect(Date.parse(device.revokedAt!)).toBeGreaterThan(Date.now() - 60_000)
    for (const cookie of cookies) {
      const me = await pageGet('/app/api/me', { cookie })
      expect(me.status).toBe(401)
      expect((await problem(me)).type).toBe('urn:serf-edge:problem:session-required')
    }
    const again = await signIn(phone.authenticator)
    expect(again.status).toBe(401)
    expect((await problem(again)).type).toBe('urn:serf-edge:problem:passkey-rejected')
    expect((await devices('?operator=alice')).find((d) => d.id === phone.device.id)?.revokedAt).toBe(device.revokedAt)
  })

  it('refuses an unknown device, and a sender without the operators permission', async () => {
    const unknown = await post('/v1/operators/devices/dev_nope/revoke', {})
    expect(unknown.status).toBe(404)
    expect((await problem(unknown)).type).toBe('urn:serf-edge:problem:unknown-device')
    const phone = await enrolPhone('bob')
    const revoke = await post(`/v1/operators/devices/${phone.device.id}/revoke`, {}, { sender: 'chatops' })
    expect(revoke.status).toBe(403)
    expect((await problem(revoke)).type).toBe('urn:serf-edge:problem:forbidden')
    const list = await get('/v1/operators/devices?operator=bob', { sender: 'chatops' })
    expect(list.status).toBe(403)
    expect((await pageGet('/app/api/me', { cookie: phone.cookie })).status).toBe(200)
  })
})
