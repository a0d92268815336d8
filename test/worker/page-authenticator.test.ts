/**
 * The tests' software authenticator is standard: `@simplewebauthn/server` (the library the
 * edge uses) verifies what it makes, and refuses each thing it makes wrong on purpose. This is
 * the authenticator's check, not the edge's; the page tests rely on it.
 */
import { verifyAuthenticationResponse, verifyRegistrationResponse } from '@simplewebauthn/server'
import { describe, expect, it } from 'vitest'
import {
  type Algorithm,
  base64url,
  type CeremonyOptions,
  cbor,
  derSignature,
  SoftAuthenticator,
} from './authenticator.ts'

const origin = 'https://edge.test'
const rpID = 'edge.test'
const challenge = () => base64url(crypto.getRandomValues(new Uint8Array(32)))
const creation = (c: string) => ({
  challenge: c,
  rp: { id: rpID, name: 'serf-edge' },
  user: { id: base64url(new TextEncoder().encode('alice')), name: 'alice', displayName: 'alice' },
  pubKeyCredParams: [-8, -7, -257].map((alg) => ({ type: 'public-key', alg })),
})

async function enrol(authenticator: SoftAuthenticator, ceremony: Partial<CeremonyOptions> = {}) {
  const c = challenge()
  const response = await authenticator.register(creation(c), { origin, ...ceremony })
  return verifyRegistrationResponse({
    response,
    expectedChallenge: c,
    expectedOrigin: origin,
    expectedRPID: rpID,
    requireUserVerification: true,
  })
}

async function signIn(
  authenticator: SoftAuthenticator,
  credential: { id: string; publicKey: Uint8Array<ArrayBuffer>; counter: number },
  ceremony: Partial<CeremonyOptions> = {},
) {
  const c = challenge()
  const response = await authenticator.assert({ challenge: c, rpId: rpID }, { origin, ...ceremony })
  return verifyAuthenticationResponse({
    response,
    expectedChallenge: c,
    expectedOrigin: origin,
    expectedRPID: rpID,
    credential,
    requireUserVerification: true,
  })
}

describe('the software authenticator', () => {
  it('encodes CBOR as RFC 8949 does', () => {
    expect([
      ...cbor(
        new Map<unknown, unknown>([
          [1, 2],
          [-1, 'a'],
          [-257, new Uint8Array([9])],
        ]),
      ),
    ]).toEqual([0xa3, 0x01, 0x02, 0x20, 0x61, 0x61, 0x39, 0x01, 0x00, 0x41, 0x09])
    expect([...cbor(1000)]).toEqual([0x19, 0x03, 0xe8])
    expect([...cbor(-500)]).toEqual([0x39, 0x01, 0xf3])
  })

  it('writes ECDSA signatures as DER, minimal integers with a sign byte when needed', () => {
    const raw = new Uint8Array(64)
    raw[0] = 0x80
    raw[63] = 0x05
    const der = derSignature(raw)
    expect([...der.subarray(0, 5)]).toEqual([0x30, 38, 0x02, 33, 0x00])
    expect([...der.subarray(-3)]).toEqual([0x02, 1, 0x05])
  })

  it.each<Algorithm>(['ES256', 'EdDSA', 'RS256'])('%s: registration and assertions verify', async (algorithm) => {
    const authenticator = await SoftAuthenticator.create(algorithm)
    const registration = await enrol(authenticator)
    expect(registration.verified).toBe(true)
    const info = registration.registrationInfo!
    expect(info).toMatchObject({ fmt: 'none', userVerified: true, credentialDeviceType: 'singleDevice' })
    expect(info.credential.id).toBe(authenticator.id)
    const credential = {
      id: info.credential.id,
      publicKey: info.credential.publicKey,
      counter: info.credential.counter,
    }
    const first = await signIn(authenticator, credential)
    expect(first.verified).toBe(true)
    expect(first.authenticationInfo.newCounter).toBe(1)
    const second = await signIn(authenticator, { ...credential, counter: 1 })
    expect(second.authenticationInfo).toMatchObject({ newCounter: 2, userVerified: true })
    const bogus = await signIn(authenticator, { ...credential, counter: 2 }, { bogusSignature: true })
    expect(bogus.verified).toBe(false)
  })

  it('each deliberate mistake is refused by the library', async () => {
    const authenticator = await SoftAuthenticator.create('ES256')
    await expect(enrol(authenticator, { userVerified: false })).rejects.toThrow(/user could not be verified/i)
    await expect(enrol(authenticator, { userPresent: false })).rejects.toThrow(/user was not present/i)
    await expect(enrol(authenticator, { origin: 'https://evil.test' })).rejects.toThrow(/origin/i)
    await expect(enrol(authenticator, { rpId: 'evil.test' })).rejects.toThrow(/RP ID/i)
    await expect(enrol(authenticator, { type: 'webauthn.get' })).rejects.toThrow(/type/i)
    await expect(enrol(authenticator, { challenge: challenge() })).rejects.toThrow(/challenge/i)

    const info = (await enrol(authenticator)).registrationInfo!
    const credential = { id: info.credential.id, publicKey: info.credential.publicKey, counter: 5 }
    await expect(signIn(authenticator, credential, { userVerified: false })).rejects.toThrow(/verified/i)
    await expect(signIn(authenticator, credential, { counter: 4 })).rejects.toThrow(/counter/i)
    expect((await signIn(authenticator, credential, { counter: 6 })).authenticationInfo.newCounter).toBe(6)
  })

  it('honours the options: the offered algorithms and the allowed credentials', async () => {
    const authenticator = await SoftAuthenticator.create('RS256')
    const options = { ...creation(challenge()), pubKeyCredParams: [{ type: 'public-key', alg: -7 }] }
    await expect(authenticator.register(options, { origin })).rejects.toThrow(/NotSupportedError/)
    const request = { challenge: challenge(), allowCredentials: [{ id: 'someone-else', type: 'public-key' }] }
    await expect(authenticator.assert(request, { origin })).rejects.toThrow(/NotAllowedError/)
    expect((await authenticator.assert(request, { origin, ignoreOptions: true })).id).toBe(authenticator.id)
  })
})
