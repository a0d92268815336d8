import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { EXIT_CODES } from '../../client/cli-text.ts'
import { generateHmacKey } from '../../protocol/signature.ts'
import { cli, edgeEnv } from './run-cli.ts'
import { accepted, problem, type StubEdge, scripted, startStubEdge, status } from './stub-edge.ts'

const key = generateHmacKey().secret
let edge: StubEdge
afterEach(() => edge?.close())

describe('an accepted event', () => {
  it('prints its id and sequence and exits 0', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_42', 42)] }))
    const run = await cli(['event', 'deploy', 'v2'], { env: edgeEnv(edge.url, key) })
    expect(run).toEqual({
      code: 0,
      stdout:
        "Event 'deploy' queued at the edge! Coalescing enabled: true\n" +
        'id:        evt_42\nsequence:  42\ncluster:   prod\n',
      stderr: '',
    })
  })

  it('prints the edge answer as JSON with -json', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_42', 42)] }))
    const run = await cli(['event', '-json', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(JSON.parse(run.stdout)).toEqual({
      id: 'evt_42',
      cluster: 'prod',
      sequence: 42,
      status: 'queued',
    })
  })
})

describe('a refusal by the edge exits 2 and prints the problem', () => {
  it('shows status, title and detail of a 403', async () => {
    edge = await startStubEdge(
      scripted({
        POST: [() => problem(403, 'forbidden', "Outside the sender's scope", 'sender "bot" may not fire event "nuke"')],
      }),
    )
    const run = await cli(['event', 'nuke'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(EXIT_CODES.refused.code)
    expect(run.stdout).toBe('')
    expect(run.stderr).toBe(
      "serf-edge event: the edge refused the request: 403 Outside the sender's scope\n" +
        '  sender "bot" may not fire event "nuke"\n  (urn:serf-edge:problem:forbidden)\n',
    )
    expect(edge.requests).toHaveLength(1)
  })

  it('does not retry a 4xx', async () => {
    edge = await startStubEdge(
      scripted({
        POST: [() => problem(413, 'event-too-large', 'Event too large', 'name plus payload is 600 bytes')],
      }),
    )
    const run = await cli(['event', 'deploy', 'x'.repeat(590)], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('600 bytes')
    expect(edge.requests).toHaveLength(1)
  })

  it('refuses before sending an event no Serf could take, with exit 2', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const run = await cli(['event', 'deploy', 'x'.repeat(9300)], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('invalid event, not sent: event is 9306 bytes')
    expect(edge.requests).toHaveLength(0)
  })
})

describe('edge trouble is retried with the same webhook-id', () => {
  it('retries a 503 and succeeds, re-signed with a fresh timestamp', async () => {
    edge = await startStubEdge(
      scripted({
        POST: [() => problem(503, 'internal', 'Unavailable', 'try again', { 'retry-after': '1' }), accepted()],
      }),
    )
    const run = await cli(['event', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(0)
    const [first, second] = edge.requests
    expect(second.headers['webhook-id']).toBe(first.headers['webhook-id'])
    expect(second.body).toBe(first.body)
    expect(Number(second.headers['webhook-timestamp'])).toBeGreaterThan(Number(first.headers['webhook-timestamp']))
    for (const request of edge.requests) {
      expect(() => new Webhook(key).verify(request.body, request.headers)).not.toThrow()
    }
  })

  it('gives up after its attempts with exit 6 and the last problem', async () => {
    edge = await startStubEdge(scripted({ POST: [() => ({ status: 502, body: undefined })] }))
    const run = await cli(['event', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(EXIT_CODES.unreachable.code)
    expect(run.stderr).toContain('the edge failed, and kept failing on retries: 502 Bad Gateway')
    expect(edge.requests).toHaveLength(4)
    expect(new Set(edge.requests.map((request) => request.headers['webhook-id'])).size).toBe(1)
  })

  it('exits 6 when nothing answers', async () => {
    edge = await startStubEdge(scripted({}))
    const url = edge.url
    await edge.close()
    const run = await cli(['event', 'deploy'], { env: edgeEnv(url, key) })
    expect(run.code).toBe(EXIT_CODES.unreachable.code)
    expect(run.stderr).toMatch(/cannot reach the edge at http:\/\/127\.0\.0\.1:\d+ \(4 attempts\): .*ECONNREFUSED/)
  })
})

describe('-wait blocks until the outcome and exits with it', () => {
  it('exits 0 when delivered, after reading queued first', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_9')], GET: [status('queued'), status('delivered')] }))
    const run = await cli(['event', '-wait', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('id:        evt_9\n')
    expect(run.stdout).toContain("Event 'deploy' delivered at 2025-01-01T00:00:01.000Z.\n")
    expect(edge.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
      'POST /v1/clusters/prod/events',
      'GET /v1/clusters/prod/events/evt_9',
      'GET /v1/clusters/prod/events/evt_9',
    ])
  })

  it('exits 3 with Serf’s error when Serf rejected it', async () => {
    const error = 'user event exceeds sane limit of 9216 bytes before encoding'
    edge = await startStubEdge(scripted({ POST: [accepted('evt_9')], GET: [status('rejected', { error })] }))
    const run = await cli(['event', '-wait=10s', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(EXIT_CODES.rejected.code)
    expect(run.stderr).toBe(`serf-edge: Serf rejected event 'deploy' (evt_9): ${error}\n`)
  })

  it('exits 4 when it expired in the queue', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_9')], GET: [status('expired')] }))
    const run = await cli(['event', '-wait', '10s', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(EXIT_CODES.expired.code)
    expect(run.stderr).toContain('expired before a bridge delivered it')
  })

  it('exits 5 when it is still queued at the deadline', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_9')], GET: [status('queued')] }))
    const started = Date.now()
    const run = await cli(['event', '-wait=1s', '-json', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(Date.now() - started).toBeLessThan(5000)
    expect(run.code).toBe(EXIT_CODES.waitTimeout.code)
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'evt_9', status: 'queued' })
    expect(run.stderr).toBe('serf-edge: event evt_9 still queued after 1s; check later with: serf-edge status evt_9\n')
  })

  it('prints one JSON object, the final status, with -json', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_9')], GET: [status('delivered')] }))
    const run = await cli(['event', '-json', '-wait', 'deploy'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'evt_9', status: 'delivered' })
  })
})

describe('serf-edge status', () => {
  it('prints the status as lines, and exits by its outcome', async () => {
    edge = await startStubEdge(scripted({ GET: [status('rejected', { error: 'serf said no' })] }))
    const run = await cli(['status', 'evt_9'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(3)
    expect(run.stdout).toBe(
      [
        'id:        evt_9',
        'cluster:   prod',
        'sequence:  7',
        'name:      deploy',
        'coalesce:  true',
        'status:    rejected',
        'enqueued:  2025-01-01T00:00:00.000Z',
        'settled:   2025-01-01T00:00:01.000Z',
        'error:     serf said no',
        '',
      ].join('\n'),
    )
  })

  it('prints JSON with -json and exits 0 while queued', async () => {
    edge = await startStubEdge(scripted({ GET: [status('queued')] }))
    const run = await cli(['status', '-json', 'evt_9'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'evt_9', status: 'queued', sequence: 7 })
  })

  it('exits 2 with the problem for an unknown event', async () => {
    edge = await startStubEdge(
      scripted({ GET: [() => problem(404, 'unknown-event', 'Unknown event', 'no event "evt_x"')] }),
    )
    const run = await cli(['status', 'evt_x'], { env: edgeEnv(edge.url, key) })
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('404 Unknown event\n  no event "evt_x"')
  })
})
