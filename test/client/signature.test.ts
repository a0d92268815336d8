import { createPublicKey, verify as verifyEd25519 } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { getEventStatus } from '../../client/index.ts'
import { generateEd25519Key, generateHmacKey } from '../../protocol/signature.ts'
import { cli, edgeEnv } from './run-cli.ts'
import { accepted, type RecordedRequest, type StubEdge, scripted, startStubEdge, status } from './stub-edge.ts'

/** Verify a `v1a` signature with node:crypto, independently of the WebCrypto signing code. */
function verifiesWithEd25519(request: RecordedRequest, publicKey: string, payload: string): boolean {
  const key = createPublicKey({
    key: {
      kty: 'OKP',
      crv: 'Ed25519',
      x: Buffer.from(publicKey.slice('whpk_'.length), 'base64').toString('base64url'),
    },
    format: 'jwk',
  })
  const content = `${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${payload}`
  const signatures = request.headers['webhook-signature']
    .split(' ')
    .filter((part) => part.startsWith('v1a,'))
    .map((part) => Buffer.from(part.slice(4), 'base64'))
  return signatures.some((signature) => verifyEd25519(null, Buffer.from(content), key, signature))
}

describe('what the CLI sends verifies with independent Standard Webhooks code', () => {
  let edge: StubEdge
  afterEach(() => edge?.close())

  it('signs the raw body with v1 HMAC that the standardwebhooks package accepts', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const { secret } = generateHmacKey()
    const run = await cli(['event', 'deploy', 'v1.4.2'], { env: edgeEnv(edge.url, secret) })
    expect(run.code).toBe(0)
    const [request] = edge.requests
    expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/)
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/)
    expect(request.headers['content-type']).toBe('application/json')
    expect(request.headers['serf-edge-sender']).toBe('bot')
    expect(new Webhook(secret).verify(request.body, request.headers)).toEqual({
      cluster: 'prod',
      name: 'deploy',
      payload: 'v1.4.2',
      coalesce: true,
    })
    expect(() => new Webhook(generateHmacKey().secret).verify(request.body, request.headers)).toThrow()
  })

  it('signs with v1a Ed25519 that node:crypto verifies with the whpk_ public key', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const pair = await generateEd25519Key()
    const run = await cli(['event', '-coalesce=false', 'deploy'], {
      env: edgeEnv(edge.url, pair.secret),
    })
    expect(run.code).toBe(0)
    const [request] = edge.requests
    expect(request.headers['webhook-signature']).toMatch(/^v1a,\S+$/)
    expect(verifiesWithEd25519(request, pair.verify, request.body)).toBe(true)
    expect(verifiesWithEd25519(request, (await generateEd25519Key()).verify, request.body)).toBe(false)
  })

  it('signs with every key given, so the edge can roll a key over', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const hmac = generateHmacKey()
    const ed = await generateEd25519Key()
    const run = await cli(['event', '-key', hmac.secret, '-key', ed.secret, 'deploy'], {
      env: { ...edgeEnv(edge.url, 'unused'), SERF_EDGE_KEY: undefined },
    })
    expect(run.code).toBe(0)
    const [request] = edge.requests
    expect(request.headers['webhook-signature'].split(' ').map((part) => part.split(',')[0])).toEqual(['v1', 'v1a'])
    expect(() => new Webhook(hmac.secret).verify(request.body, request.headers)).not.toThrow()
    expect(verifiesWithEd25519(request, ed.verify, request.body)).toBe(true)
  })

  it('signs a status read over its path, with a fresh id each time', async () => {
    edge = await startStubEdge(scripted({ GET: [status('delivered')] }))
    const { secret } = generateHmacKey()
    const options = {
      edgeUrl: edge.url,
      cluster: 'prod',
      sender: 'bot',
      key: secret,
      id: 'evt_abc',
    }
    await getEventStatus(options)
    await getEventStatus(options)
    const [first, second] = edge.requests
    expect(first.method).toBe('GET')
    expect(first.path).toBe('/v1/clusters/prod/events/evt_abc')
    expect(first.headers['content-type']).toBeUndefined()
    expect(() => new Webhook(secret).verify(first.path, first.headers, { jsonParse: false })).not.toThrow()
    expect(first.headers['webhook-id']).not.toBe(second.headers['webhook-id'])
  })
})
