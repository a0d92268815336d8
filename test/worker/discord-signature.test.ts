/** The Discord door verifies every interaction over its raw bytes first: any failure is 401, PING included. */
import { describe, expect, it } from 'vitest'
import { auditMark, auditOf, command, ids, nowSeconds, send, sign, strangerKey } from './discord-interactions.ts'
import { problem } from './helpers.ts'

const ping = () => ({
  id: '1800000000000000001',
  application_id: ids.application,
  type: 1,
  token: 'tok_ping',
  version: 1,
})

describe('a PING', () => {
  it('signed with the application key is answered with type 1 as JSON', async () => {
    const res = await send(ping())
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await res.json()).toEqual({ type: 1 })
  })

  it("is refused with 401 when it carries Discord's probe: a signature by another key", async () => {
    const res = await send(ping(), { key: await strangerKey() })
    expect(res.status).toBe(401)
    expect((await problem(res)).type).toBe('urn:serf-edge:problem:unauthenticated')
  })

  it('is refused with 401 for a signature of the right shape that is random bytes', async () => {
    const random = Array.from(crypto.getRandomValues(new Uint8Array(64)), (b) => b.toString(16).padStart(2, '0'))
    expect((await send(ping(), { headers: { 'x-signature-ed25519': random.join('') } })).status).toBe(401)
  })
})

describe('the freshness window on X-Signature-Timestamp, both ways', () => {
  it('a correctly signed interaction over 5 minutes old is refused', async () => {
    expect((await send(ping(), { timestamp: nowSeconds() - 301 })).status).toBe(401)
  })

  it('one over 5 minutes in the future is refused', async () => {
    expect((await send(ping(), { timestamp: nowSeconds() + 301 })).status).toBe(401)
  })

  it('one a little under 5 minutes old or ahead is accepted', async () => {
    expect((await send(ping(), { timestamp: nowSeconds() - 280 })).status).toBe(200)
    expect((await send(ping(), { timestamp: nowSeconds() + 280 })).status).toBe(200)
  })

  it('the signature covers the timestamp: a fresh timestamp on an old signature is refused', async () => {
    const body = new TextEncoder().encode(JSON.stringify(ping()))
    const old = await sign(String(nowSeconds() - 600), body)
    const res = await send(body, { headers: { 'x-signature-ed25519': old } })
    expect(res.status).toBe(401)
  })
})

describe('the signature covers the raw body', () => {
  it('a one-byte change after signing is refused', async () => {
    const tamper = (bytes: Uint8Array) => {
      const changed = bytes.slice()
      changed[changed.length - 2] ^= 0x01
      return changed
    }
    expect((await send(ping(), { tamper })).status).toBe(401)
  })

  it('bytes a text round trip would change (a leading byte-order mark) verify as sent', async () => {
    const json = new TextEncoder().encode(JSON.stringify(ping()))
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...json])
    const res = await send(withBom)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ type: 1 })
  })

  it('a command whose signature fails fires nothing and is not run', async () => {
    const before = await auditMark('staging')
    const forged = command(ids.alice, 'deploy forged')
    expect((await send(forged, { key: await strangerKey() })).status).toBe(401)
    expect(
      (
        await send(forged, {
          tamper: (b) => new TextEncoder().encode(new TextDecoder().decode(b).replace('forged', 'forgeD')),
        })
      ).status,
    ).toBe(401)
    expect(await auditOf('staging', before)).toEqual([])
  })
})

describe('missing or malformed headers', () => {
  it('no X-Signature-Ed25519 is refused', async () => {
    expect((await send(ping(), { headers: { 'x-signature-ed25519': undefined } })).status).toBe(401)
  })

  it('no X-Signature-Timestamp is refused', async () => {
    expect((await send(ping(), { headers: { 'x-signature-timestamp': undefined } })).status).toBe(401)
  })

  it('a timestamp that is not unix seconds is refused', async () => {
    const iso = new Date().toISOString()
    const body = new TextEncoder().encode(JSON.stringify(ping()))
    const res = await send(body, {
      headers: { 'x-signature-timestamp': iso, 'x-signature-ed25519': await sign(iso, body) },
    })
    expect(res.status).toBe(401)
  })
})

describe('what a valid signature does not excuse', () => {
  it('an interaction for another application is refused', async () => {
    const res = await send({ ...ping(), application_id: '1100000000000000999' })
    expect(res.status).toBe(403)
  })

  it('a token that could leave its URL path segment is refused before any reply URL is built', async () => {
    const res = await send({ ...command(ids.alice, 'deploy x'), token: '../../channels/1/messages' })
    expect(res.status).toBe(422)
  })

  it('an unknown app is 404', async () => {
    expect((await send(ping(), { app: 'nope' })).status).toBe(404)
  })
})
