/** Every bad input is refused with the right 4xx and an RFC 9457 body, and queues nothing. */
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { EDGE, fire, get, post, problem } from './helpers.ts'

const events = (cluster = 'staging') => `/v1/clusters/${cluster}/events`

async function refused(res: Response, status: number, type: string, detail: RegExp) {
  const body = await problem(res)
  expect({ status: res.status, type: body.type }).toEqual({ status, type: `urn:serf-edge:problem:${type}` })
  expect(body.status).toBe(status)
  expect(body.detail).toMatch(detail)
  return body
}

/** The sequence the next accepted event gets: proves a refusal left no queue entry behind. */
async function nextSequence(cluster = 'staging') {
  return (await fire(cluster, { name: 'probe', coalesce: false })).sequence
}

describe('a request body that is not a valid event', () => {
  it('malformed JSON is 400 and queues nothing', async () => {
    const before = await nextSequence()
    await refused(await post(events(), '{"cluster": "staging", "name": '), 400, 'malformed-json', /not valid JSON/)
    expect(await nextSequence()).toBe(before + 1)
  })

  it.each([
    [{ cluster: 'staging' }, /name/],
    [{ cluster: 'staging', name: '' }, /name must not be empty/],
    [{ cluster: 'staging', name: 42 }, /name must be a string/],
    [{ cluster: 'staging', name: 'deploy', coalesce: 'yes' }, /coalesce must be true or false/],
    [{ cluster: 'staging', name: 'deploy', payload: 7 }, /payload must be a string/],
    [{ cluster: 'staging', name: 'de\nploy' }, /control characters/],
    [{ cluster: 'staging', name: 'de\u0000ploy' }, /control characters/],
    [{ cluster: 'staging', name: 'x'.repeat(129) }, /at most 128 bytes/],
    [{ cluster: 'staging', name: 'deploy', payloadBase64: 'not base64!' }, /payloadBase64 is not valid base64/],
    [{ cluster: 'staging', name: 'deploy', payloadBase64: 'YWJj' + '=' }, /payloadBase64 is not valid base64/],
    [{ cluster: 'staging', name: 'deploy', payload: 'a', payloadBase64: 'YQ==' }, /not both/],
    [{ cluster: 'staging', name: 'deploy', coalsce: false }, /unknown field\(s\): coalsce/],
    [[], /expected object|Invalid input/],
  ])('%j is 422 naming the field', async (body, detail) => {
    const res = await post(events(), body)
    const answer = await refused(res, 422, 'invalid-event', detail)
    expect(Array.isArray(answer.errors)).toBe(true)
  })

  it('a body over the cap is 413 before it is parsed', async () => {
    const huge = JSON.stringify({ cluster: 'staging', name: 'deploy', payload: 'x'.repeat(40_000) })
    await refused(await post(events(), huge), 413, 'body-too-large', /over 32768 bytes/)
  })

  it('a chunked body over the cap is 413 too', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(16_384))
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(chunk)
        controller.close()
      },
    })
    const res = await exports.default.fetch(`${EDGE}${events()}`, {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json', 'serf-edge-sender': 'ci' },
    })
    await refused(res, 413, 'body-too-large', /over 32768 bytes/)
  })

  it('a body that is not JSON by content type is 415', async () => {
    const res = await post(events(), 'name=deploy', { contentType: 'application/x-www-form-urlencoded' })
    await refused(res, 415, 'unsupported-media-type', /application\/json/)
  })
})

describe("Serf's user_event_size_limit is enforced at ingest", () => {
  // Serf refuses len(name)+len(payload) over the limit, and also an encoded message over it:
  // 25 bytes of framing, string headers and up to 9 bytes of Lamport time. For a 6-byte name
  // and a 512-byte limit that leaves 474 bytes of name plus payload.
  it('an event Serf would refuse after encoding is 413 naming the limit, the size and the room', async () => {
    const res = await post(events(), { cluster: 'staging', name: 'deploy', payload: 'x'.repeat(469) })
    const body = await refused(
      res,
      413,
      'event-too-large',
      /475 bytes.*user_event_size_limit of 512 bytes.*at most 474 bytes/,
    )
    expect(body).toMatchObject({ limit: 512, size: 475, maxSize: 474 })
  })

  it('the largest event that fits is accepted', async () => {
    const accepted = await fire('staging', { name: 'deploy', payload: 'x'.repeat(468) })
    expect(accepted.status).toBe('queued')
  })

  it('counts bytes, not characters, and binary payloads by their decoded size', async () => {
    await refused(
      await post(events(), { cluster: 'staging', name: 'deploy', payload: 'é'.repeat(235) }),
      413,
      'event-too-large',
      /476 bytes/,
    )
    const binary = btoa(String.fromCharCode(...new Uint8Array(468).fill(0xff)))
    expect((await fire('staging', { name: 'deploy', payloadBase64: binary })).status).toBe('queued')
  })

  it('follows the per-cluster limit (1024 on prod, 9216 on big)', async () => {
    expect((await fire('prod', { name: 'deploy', payload: 'x'.repeat(980) })).status).toBe('queued')
    await refused(
      await post(events('prod'), { cluster: 'prod', name: 'deploy', payload: 'x'.repeat(981) }),
      413,
      'event-too-large',
      /987 bytes.*1024 bytes.*at most 986/,
    )
    expect((await fire('big', { name: 'deploy', payload: 'x'.repeat(9172) })).status).toBe('queued')
  })
})

describe('cluster and scope', () => {
  it('an unknown cluster is 404', async () => {
    await refused(
      await post(events('nowhere'), { cluster: 'nowhere', name: 'deploy' }),
      404,
      'unknown-cluster',
      /"nowhere"/,
    )
  })

  it('a body naming another cluster than the path is refused (replay against another cluster)', async () => {
    await refused(
      await post(events('prod'), { cluster: 'staging', name: 'deploy' }),
      400,
      'cluster-mismatch',
      /"staging".*"prod"/,
    )
  })

  it('a sender limited to some clusters gets 403 elsewhere', async () => {
    const res = await post(events('prod'), { cluster: 'prod', name: 'deploy' }, { sender: 'chatops' })
    await refused(res, 403, 'forbidden', /sender "chatops" may not send to cluster "prod"/)
  })

  it('a sender limited to some event names gets 403 for others, and passes its patterns', async () => {
    const res = await post(events(), { cluster: 'staging', name: 'reboot' }, { sender: 'chatops' })
    await refused(res, 403, 'forbidden', /may not fire event "reboot"/)
    for (const name of ['deploy', 'restart-web', 'restart-']) {
      const ok = await post(events(), { cluster: 'staging', name }, { sender: 'chatops' })
      expect(ok.status).toBe(202)
    }
    const near = await post(events(), { cluster: 'staging', name: 'deploy-all' }, { sender: 'chatops' })
    expect(near.status).toBe(403)
  })

  it('an unknown endpoint is a 404 problem, not an HTML page', async () => {
    await refused(await get('/v1/clusters/staging/nothing-here'), 404, 'not-found', /no endpoint GET/)
  })
})

describe('nothing bad reaches the queue', () => {
  it('a run of refused requests leaves the sequence untouched', async () => {
    const before = await nextSequence('prod')
    await post(events('prod'), { cluster: 'prod', name: '' })
    await post(events('prod'), { cluster: 'prod', name: 'x', payload: 'y'.repeat(2000) })
    await post(events('prod'), { cluster: 'prod', name: 'x' }, { keys: [env.TEST_KEYS.chatops] })
    expect(await nextSequence('prod')).toBe(before + 1)
  })
})
