/**
 * `serf-edge invite` and `serf-edge devices` against a real edge in `wrangler dev`: the invite
 * link opens an enrolment at the page, a device enrolled with it (a software passkey, as a
 * phone's would sign) is listed, and `devices revoke` ends its session and its passkey at once.
 * Refusals map to the CLI's exit codes. Enrolment through a real browser is the page tests' job.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { qrCode } from '../../client/cli-operators.ts'
import { EXIT_CODES } from '../../client/cli-text.ts'
import { type CliRun, cli } from '../client/run-cli.ts'
import { type LocalEdge, startEdge } from '../helpers/edge.ts'
import { type CreationOptions, type RequestOptions, SoftAuthenticator } from '../worker/authenticator.ts'

/** Where invites point: a host name, as WebAuthn wants, not the loopback address tests reach. */
const PAGE_ORIGIN = 'https://oncall.example.com'
const SESSION_COOKIE = '__Host-serf-edge-session'

let dir: string
let edge: LocalEdge

const OPERATORS = {
  alice: {
    clusters: ['main'],
    events: ['restart'],
    actions: [{ id: 'restart-web', label: 'Restart web', cluster: 'main', name: 'restart', payload: 'web' }],
  },
  bob: { clusters: ['main'], events: ['restart'] },
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-operators-cli-'))
  edge = await startEdge({
    dir,
    clusters: { main: {} },
    senders: {
      admin: { clusters: ['main'], operators: ['alice'] },
      plain: { clusters: ['main'], events: ['*'] },
    },
    vars: { OPERATORS: JSON.stringify(OPERATORS), PAGE_ORIGIN },
  })
})

afterAll(async () => {
  await edge?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`--- edge log ---\n${edge.log.slice(-6000)}`))
})

const as = (sender: string) => ({
  SERF_EDGE_URL: edge.url,
  SERF_EDGE_SENDER: sender,
  SERF_EDGE_KEY: edge.senderKeys[sender]!,
})

/** The page API as a browser on the page calls it (JSON in and out). */
async function page(method: string, path: string, body?: unknown, cookie?: string): Promise<Response> {
  return fetch(`${edge.url}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(cookie ? { cookie: `${SESSION_COOKIE}=${cookie}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
}

/** `serf-edge invite -json` for `operator`: the answer, and the token from the link's fragment. */
async function invite(operator: string) {
  const run = await cli(['invite', `-operator=${operator}`, '-json'], { env: as('admin') })
  expect(run, run.stderr).toMatchObject({ code: 0, stderr: '' })
  const answer = JSON.parse(run.stdout) as { operator: string; url: string; expiresAt: string }
  const token = new URLSearchParams(new URL(answer.url).hash.slice(1)).get('invite')
  return { ...answer, token: token ?? '' }
}

/** The page's enrolment with a software passkey: the invite's options, `create()`, the enrol call. */
async function enrol(token: string, deviceName: string) {
  const options = await page('POST', '/app/api/enrol/options', { invite: token })
  expect(options.status).toBe(200)
  const { options: creation } = (await options.json()) as { options: CreationOptions }
  const passkey = await SoftAuthenticator.create()
  const response = await passkey.register(creation, { origin: PAGE_ORIGIN })
  const enrolled = await page('POST', '/app/api/enrol', { invite: token, deviceName, response })
  expect(enrolled.status, await enrolled.clone().text()).toBe(201)
  const cookie = /__Host-serf-edge-session=([^;]+)/.exec(enrolled.headers.get('set-cookie') ?? '')?.[1]
  const { device } = (await enrolled.json()) as { device: { id: string; name: string } }
  return { passkey, cookie: cookie!, device }
}

/** A passkey sign-in: the session options, an assertion, the answer's status. */
async function signIn(passkey: SoftAuthenticator): Promise<number> {
  const started = await page('POST', '/app/api/session/options', {})
  const { options } = (await started.json()) as { options: RequestOptions }
  const response = await passkey.assert(options, { origin: PAGE_ORIGIN })
  return (await page('POST', '/app/api/session', { response })).status
}

const refused = (run: CliRun, status: number, slug: string) => {
  expect(run.code, run.stderr).toBe(EXIT_CODES.refused.code)
  expect(run.stdout).toBe('')
  expect(run.stderr).toContain(`the edge refused the request: ${status} `)
  expect(run.stderr).toContain(`(urn:serf-edge:problem:${slug})`)
}

describe('serf-edge invite', () => {
  it('prints a link to the page, valid 15 minutes, whose token opens an enrolment for the operator', async () => {
    const before = Date.now()
    const { url, expiresAt, operator, token } = await invite('alice')
    expect(operator).toBe('alice')
    expect(url).toMatch(new RegExp(`^${PAGE_ORIGIN}/app/#invite=[A-Za-z0-9_-]{20,}$`))
    const ahead = Date.parse(expiresAt) - before
    expect(ahead).toBeGreaterThan(14.5 * 60_000)
    expect(ahead).toBeLessThan(15.5 * 60_000)
    const options = await page('POST', '/app/api/enrol/options', { invite: token })
    expect(options.status).toBe(200)
    expect(await options.json()).toMatchObject({ operator: 'alice', options: { rp: { id: 'oncall.example.com' } } })
  })

  it('in text, prints the link, its expiry and the QR code', async () => {
    const run = await cli(['invite', '-operator=alice'], { env: as('admin') })
    expect(run.code).toBe(0)
    const link = /^link: {6}(\S+)$/m.exec(run.stdout)?.[1] ?? ''
    expect(link).toMatch(new RegExp(`^${PAGE_ORIGIN}/app/#invite=[A-Za-z0-9_-]{20,}$`))
    expect(run.stdout).toMatch(/^expires: {3}\S+ \(in 15 minutes\)$/m)
    expect(run.stdout).toContain(qrCode(link, { color: false }))
  })

  it('refuses an operator the edge does not know, and one the sender may not manage', async () => {
    refused(await cli(['invite', '-operator=mallory'], { env: as('admin') }), 404, 'unknown-operator')
    refused(await cli(['invite', '-operator=bob'], { env: as('admin') }), 403, 'forbidden')
  })

  it('a sender without the operators permission is refused', async () => {
    refused(await cli(['invite', '-operator=alice'], { env: as('plain') }), 403, 'forbidden')
    refused(await cli(['devices', '-operator=alice'], { env: as('plain') }), 403, 'forbidden')
    expect(await cli(['devices', '-json'], { env: as('plain') })).toMatchObject({ code: 0, stdout: '{"devices":[]}\n' })
  })
})

describe('serf-edge devices', () => {
  it('lists no device before any enrolment', async () => {
    expect(await cli(['devices'], { env: as('admin') })).toEqual({
      code: 0,
      stdout: 'No devices enrolled.\n',
      stderr: '',
    })
    const filtered = await cli(['devices', '-operator=alice', '-json'], { env: as('admin') })
    expect(JSON.parse(filtered.stdout)).toEqual({ devices: [] })
  })

  it('lists an enrolled device; revoke ends its session and its passkey at once', async () => {
    const { token } = await invite('alice')
    const phone = await enrol(token, "Alice's phone")
    expect((await page('GET', '/app/api/me', undefined, phone.cookie)).status).toBe(200)
    // The link died with the enrolment.
    expect((await page('POST', '/app/api/enrol/options', { invite: token })).status).toBe(410)

    const listed = await cli(['devices', '-operator=alice'], { env: as('admin') })
    expect(listed.code).toBe(0)
    const [header, row, ...rest] = listed.stdout.trimEnd().split('\n')
    expect(header).toMatch(/^ID +OPERATOR +NAME +CREATED +LAST USED +REVOKED$/)
    expect(row).toMatch(new RegExp(`^${phone.device.id} +alice +Alice's phone +\\S+Z +\\S+ +-$`))
    expect(rest).toEqual([])
    const json = JSON.parse((await cli(['devices', '-json'], { env: as('admin') })).stdout)
    expect(json.devices).toEqual([
      expect.objectContaining({ id: phone.device.id, operator: 'alice', credentialId: phone.passkey.id }),
    ])
    expect(await signIn(phone.passkey)).toBe(200)

    const revoked = await cli(['devices', 'revoke', phone.device.id], { env: as('admin') })
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toMatch(/^Device 'Alice's phone' of operator 'alice' revoked: its sessions have ended/)
    expect(revoked.stdout).toMatch(new RegExp(`^id: {8}${phone.device.id}$`, 'm'))
    expect(revoked.stdout).toMatch(/^revoked: {3}\d{4}-\S+Z$/m)

    expect((await page('GET', '/app/api/me', undefined, phone.cookie)).status).toBe(401)
    expect(await signIn(phone.passkey)).toBe(401)
    const after = await cli(['devices', '-operator=alice'], { env: as('admin') })
    expect(after.stdout.split('\n')[1]).toMatch(/ \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
  })

  it('revoking an unknown device exits with the refusal code, naming unknown-device', async () => {
    refused(await cli(['devices', 'revoke', 'dev_AAAAAAAAAAAAAAAA'], { env: as('admin') }), 404, 'unknown-device')
  })

  it('a sender may not revoke a device of an operator it does not manage', async () => {
    const { token } = await invite('alice')
    const { device } = await enrol(token, 'second phone')
    refused(await cli(['devices', 'revoke', device.id], { env: as('plain') }), 403, 'forbidden')
    const json = JSON.parse((await cli(['devices', '-json'], { env: as('admin') })).stdout)
    expect(json.devices.find((d: { id: string }) => d.id === device.id).revokedAt).toBeUndefined()
  })
})
