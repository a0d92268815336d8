/**
 * `serf-edge invite` and `serf-edge devices`, and the SDK calls under them, against the stub
 * edge on loopback: what goes on the wire (signed as every sender call), what is printed, the
 * QR code, and how refusals map to exit codes.
 */
import { Webhook } from 'standardwebhooks'
import { encode } from 'uqr'
import { afterEach, describe, expect, it } from 'vitest'
import { devicesTable, inviteText, qrCode, revokedText } from '../../client/cli-operators.ts'
import { EXIT_CODES } from '../../client/cli-text.ts'
import {
  ClientConfigError,
  createInvite,
  type Device,
  EdgeProblemError,
  generateHmacKey,
  listDevices,
  revokeDevice,
} from '../../client/index.ts'
import { cli } from './run-cli.ts'
import { problem, type StubEdge, type StubHandler, scripted, startStubEdge } from './stub-edge.ts'

const key = generateHmacKey().secret
let edge: StubEdge
afterEach(() => edge?.close())

const LINK = 'https://edge.example.com/app/#invite=Zm9vYmFyYmF6cXV4LXRva2VuLW9mLTMyLWJ5dGVzLWxvbmc'
const admin = (url: string) => ({ edgeUrl: url, sender: 'admin', key })
const env = (url: string) => ({ SERF_EDGE_URL: url, SERF_EDGE_SENDER: 'admin', SERF_EDGE_KEY: key })

const device = (extra: Partial<Device> = {}): Device => ({
  id: 'dev_1',
  operator: 'alice',
  name: "Alice's Pixel",
  credentialId: 'Y3JlZC0x',
  createdAt: '2026-11-24T09:01:02.345Z',
  lastUsedAt: null,
  ...extra,
})

const invited =
  (expiresAt = new Date(Date.now() + 15 * 60_000).toISOString()): StubHandler =>
  (request) => ({
    status: 201,
    body: { operator: decodeURIComponent(request.path.split('/').at(-2)!), url: LINK, expiresAt },
  })
const listed =
  (devices: Device[]): StubHandler =>
  () => ({ status: 200, body: { devices } })
const revoked: StubHandler = (request) => ({
  status: 200,
  body: {
    device: device({ id: decodeURIComponent(request.path.split('/').at(-2)!), revokedAt: '2026-11-24T10:00:00.000Z' }),
  },
})

/** The module matrix a compact QR rendering shows: true for a dark module. */
function modulesOf(rendered: string): boolean[][] {
  const light = { '█': [true, true], '▀': [true, false], '▄': [false, true], ' ': [false, false] } as const
  const rows: boolean[][] = []
  for (const line of rendered.split('\n')) {
    const pairs = [...line].map((glyph) => light[glyph as keyof typeof light])
    rows.push(
      pairs.map(([top]) => !top),
      pairs.map(([, bottom]) => !bottom),
    )
  }
  return rows
}

describe('the SDK signs the operator calls as every sender call, and checks the answers', () => {
  it('createInvite POSTs {} to /v1/operators/{operator}/invites under the edge URL prefix', async () => {
    edge = await startStubEdge(scripted({ POST: [invited()] }))
    const invite = await createInvite({ ...admin(`${edge.url}/serf`), operator: 'alice' })
    expect(invite).toMatchObject({ operator: 'alice', url: LINK })
    const [request] = edge.requests
    expect(request).toMatchObject({ method: 'POST', path: '/serf/v1/operators/alice/invites', body: '{}' })
    expect(request!.headers['serf-edge-sender']).toBe('admin')
    expect(request!.headers['content-type']).toBe('application/json')
    expect(() => new Webhook(key).verify(request!.body, request!.headers)).not.toThrow()
  })

  it('listDevices GETs the devices, the operator in the signed query', async () => {
    edge = await startStubEdge(scripted({ GET: [listed([device()])] }))
    expect(await listDevices({ ...admin(edge.url), operator: 'alice' })).toEqual([device()])
    expect(await listDevices(admin(edge.url))).toEqual([device()])
    const [filtered, all] = edge.requests
    expect(filtered!.path).toBe('/v1/operators/devices?operator=alice')
    expect(() => new Webhook(key).verify(filtered!.path, filtered!.headers, { jsonParse: false })).not.toThrow()
    expect(all!.path).toBe('/v1/operators/devices')
  })

  it('revokeDevice POSTs to /v1/operators/devices/{id}/revoke and answers the device', async () => {
    edge = await startStubEdge(scripted({ POST: [revoked] }))
    const answer = await revokeDevice({ ...admin(edge.url), id: 'dev_7/x' })
    expect(answer.revokedAt).toBe('2026-11-24T10:00:00.000Z')
    expect(edge.requests[0]!.path).toBe('/v1/operators/devices/dev_7%2Fx/revoke')
  })

  it('refuses an empty operator or device id before sending anything', async () => {
    const base = admin('http://127.0.0.1:1')
    await expect(createInvite({ ...base, operator: '' })).rejects.toThrow(ClientConfigError)
    await expect(revokeDevice({ ...base, id: '' })).rejects.toThrow(ClientConfigError)
    await expect(listDevices({ ...base, operator: '' })).rejects.toThrow(ClientConfigError)
  })

  it('an answer that is not the contract is the edge failing (502), not a device list', async () => {
    edge = await startStubEdge(scripted({ GET: [() => ({ status: 200, body: { devices: [{ id: 'dev_1' }] } })] }))
    const error = await listDevices(admin(edge.url)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(EdgeProblemError)
    expect((error as EdgeProblemError).status).toBe(502)
  })
})

describe('serf-edge invite', () => {
  it('prints the link, its expiry and the link as a QR code', async () => {
    edge = await startStubEdge(scripted({ POST: [invited()] }))
    const run = await cli(['invite', '-operator=alice'], { env: env(edge.url) })
    expect(run.code).toBe(EXIT_CODES.ok.code)
    expect(run.stderr).toBe('')
    const lines = run.stdout.split('\n')
    expect(lines[0]).toBe("Invite for operator 'alice' created! It enrols one device, then it is used up.")
    expect(lines[1]).toBe(`link:      ${LINK}`)
    expect(lines[2]).toMatch(/^expires: {3}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(in 15 minutes\)$/)
    expect(run.stdout).toContain(qrCode(LINK, { color: false }))
    expect(run.stdout).toContain("Open the link on alice's phone, or scan the code with its camera")
    expect(edge.requests[0]!.path).toBe('/v1/operators/alice/invites')
  })

  it('leaves the QR code out with -no-qr, and prints the answer alone with -json', async () => {
    edge = await startStubEdge(scripted({ POST: [invited('2026-11-24T09:15:00.000Z')] }))
    const plain = await cli(['invite', '-no-qr', '-operator', 'alice'], { env: env(edge.url) })
    expect(plain.stdout).not.toContain('█')
    expect(plain.stdout).toContain(`link:      ${LINK}`)
    const asJson = await cli(['invite', '-operator=alice', '-json'], { env: env(edge.url) })
    expect(JSON.parse(asJson.stdout)).toEqual({ operator: 'alice', url: LINK, expiresAt: '2026-11-24T09:15:00.000Z' })
    expect(asJson.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('needs -operator, and names no cluster: -cluster is not its flag and no cluster is asked for', async () => {
    const missing = await cli(['invite'], { env: env('http://127.0.0.1:1') })
    expect(missing).toMatchObject({ code: EXIT_CODES.usage.code, stdout: '' })
    expect(missing.stderr).toContain('serf-edge invite: an operator must be specified with -operator')
    const cluster = await cli(['invite', '-cluster=prod', '-operator=alice'], { env: env('http://127.0.0.1:1') })
    expect(cluster.code).toBe(EXIT_CODES.usage.code)
    expect(cluster.stderr).toContain('flag provided but not defined: -cluster')
    const unset = await cli(['invite', '-operator=alice'])
    expect(unset.code).toBe(EXIT_CODES.usage.code)
    expect(unset.stderr).toContain('missing edge URL, sender id, signing key:')
    expect(unset.stderr).not.toContain('cluster')
  })

  it('an unknown operator or a sender without the permission is a refusal: exit 2, the problem printed', async () => {
    edge = await startStubEdge(
      scripted({
        POST: [
          () => problem(404, 'unknown-operator', 'Unknown operator', 'no operator "mallory"'),
          () => problem(403, 'forbidden', "Outside the sender's scope", 'sender "admin" may not manage "bob"'),
        ],
      }),
    )
    const unknown = await cli(['invite', '-operator=mallory'], { env: env(edge.url) })
    expect(unknown).toEqual({
      code: EXIT_CODES.refused.code,
      stdout: '',
      stderr:
        'serf-edge invite: the edge refused the request: 404 Unknown operator\n  no operator "mallory"\n' +
        '  (urn:serf-edge:problem:unknown-operator)\n',
    })
    const forbidden = await cli(['invite', '-operator=bob'], { env: env(edge.url) })
    expect(forbidden.code).toBe(EXIT_CODES.refused.code)
    expect(forbidden.stderr).toContain('403')
  })

  it('help names the flags and says what the link can do', async () => {
    const run = await cli(['invite', '-h'])
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^Usage: serf-edge invite -operator=<id> \[options\]/)
    expect(run.stdout).toContain('-no-qr')
    expect(run.stdout).not.toContain('-cluster')
    expect((await cli(['help', 'devices'])).stdout).toMatch(/^Usage: serf-edge devices \[options\]/)
    const main = await cli(['-h'])
    expect(main.stdout).toMatch(/^ {4}invite {4}Create a one-time link/m)
    expect(main.stdout).toMatch(/^ {4}devices {3}List operators' enrolled devices, or revoke one$/m)
  })
})

describe('the QR code of an invite', () => {
  it('shows the modules of the link, dark as blanks on the light glyphs', () => {
    const rendered = qrCode(LINK, { color: false })
    const expected = encode(LINK, { border: 2, ecc: 'M' }).data
    // An odd size gets a last half-row below the code, shown as dark (blank).
    expect(modulesOf(rendered).slice(0, expected.length)).toEqual(expected)
  })

  it('with colour, paints the same glyphs white on black, line by line', () => {
    const plain = qrCode(LINK, { color: false }).split('\n')
    const painted = qrCode(LINK, { color: true }).split('\n')
    expect(painted).toEqual(plain.map((line) => `\x1b[97;40m${line}\x1b[0m`))
  })

  it('inviteText says when the link runs out, and warns of an expiry already past', () => {
    const invite = { operator: 'alice', url: LINK, expiresAt: '2026-11-24T09:15:00.000Z' }
    const at = (iso: string) => inviteText(invite, Date.parse(iso), undefined).split('\n')[2]
    expect(at('2026-11-24T09:00:00.000Z')).toBe('expires:   2026-11-24T09:15:00.000Z (in 15 minutes)')
    expect(at('2026-11-24T09:14:20.000Z')).toBe('expires:   2026-11-24T09:15:00.000Z (in 1 minute)')
    expect(at('2026-11-24T09:20:00.000Z')).toMatch(/already expired/)
  })
})

describe('serf-edge devices', () => {
  const devices = [
    device({ lastUsedAt: '2026-11-24T09:30:00.000Z' }),
    device({ id: 'dev_22', operator: 'bob', name: 'Bob', createdAt: '2026-11-23T08:00:00.000Z' }),
    device({ id: 'dev_3', name: 'old phone', revokedAt: '2026-11-24T10:00:00.000Z' }),
  ]

  it('lists them as a table: id, operator, name, created, last used, revoked', async () => {
    edge = await startStubEdge(scripted({ GET: [listed(devices)] }))
    const run = await cli(['devices'], { env: env(edge.url) })
    expect(run).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'ID      OPERATOR  NAME           CREATED               LAST USED             REVOKED',
        "dev_1   alice     Alice's Pixel  2026-11-24T09:01:02Z  2026-11-24T09:30:00Z  -",
        'dev_22  bob       Bob            2026-11-23T08:00:00Z  never                 -',
        'dev_3   alice     old phone      2026-11-24T09:01:02Z  never                 2026-11-24T10:00:00Z',
        '',
      ].join('\n'),
    })
    expect(edge.requests[0]!.path).toBe('/v1/operators/devices')
  })

  it('-operator filters at the edge; -json prints the answer', async () => {
    edge = await startStubEdge(scripted({ GET: [listed(devices.slice(0, 1))] }))
    const run = await cli(['devices', '-operator=alice', '-json'], { env: env(edge.url) })
    expect(JSON.parse(run.stdout)).toEqual({ devices: devices.slice(0, 1) })
    expect(edge.requests[0]!.path).toBe('/v1/operators/devices?operator=alice')
  })

  it('says so when there are none', () => {
    expect(devicesTable([], undefined)).toBe('No devices enrolled.\n')
    expect(devicesTable([], 'alice')).toBe("No devices enrolled for operator 'alice'.\n")
  })

  it('shows a device name typed at enrolment without its control characters or direction overrides', () => {
    const table = devicesTable([device({ name: 'evil\x1b[2J\u202ename' })], undefined)
    expect(table).toContain('evil\ufffd[2J\ufffdname')
    expect(table).not.toContain('\x1b')
  })

  it('revoke ID revokes and prints what it revoked; flags go before or after revoke', async () => {
    edge = await startStubEdge(scripted({ POST: [revoked] }))
    const run = await cli(['devices', 'revoke', 'dev_1'], { env: env(edge.url) })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe(
      "Device 'Alice's Pixel' of operator 'alice' revoked: its sessions have ended, and the edge refuses anything it signs.\n" +
        "id:        dev_1\noperator:  alice\nname:      Alice's Pixel\ncreated:   2026-11-24T09:01:02.345Z\n" +
        'last used: never\nrevoked:   2026-11-24T10:00:00.000Z\n',
    )
    expect(edge.requests[0]).toMatchObject({ method: 'POST', path: '/v1/operators/devices/dev_1/revoke', body: '{}' })
    for (const args of [
      ['devices', '-json', 'revoke', 'dev_2'],
      ['devices', 'revoke', '-json', 'dev_2'],
    ]) {
      const asJson = await cli(args, { env: env(edge.url) })
      expect(JSON.parse(asJson.stdout).device).toMatchObject({ id: 'dev_2', revokedAt: '2026-11-24T10:00:00.000Z' })
    }
    expect(revokedText(device())).toContain('revoked:   -\n')
  })

  it('revoking an unknown device is a refusal: exit 2, unknown-device printed', async () => {
    edge = await startStubEdge(
      scripted({ POST: [() => problem(404, 'unknown-device', 'Unknown device', 'no device "dev_nope"')] }),
    )
    const run = await cli(['devices', 'revoke', 'dev_nope'], { env: env(edge.url) })
    expect(run.code).toBe(EXIT_CODES.refused.code)
    expect(run.stderr).toContain('serf-edge devices: the edge refused the request: 404 Unknown device')
    expect(run.stderr).toContain('(urn:serf-edge:problem:unknown-device)')
  })

  it('refuses what it cannot mean, sending nothing', async () => {
    edge = await startStubEdge(scripted({}))
    const cases: [string[], string][] = [
      [['devices', 'revoke'], 'give exactly one device id'],
      [['devices', 'revoke', 'dev_1', 'dev_2'], 'give exactly one device id'],
      [['devices', 'remove', 'dev_1'], 'unknown argument "remove"'],
      [['devices', '-operator=alice', 'revoke', 'dev_1'], '-operator lists devices'],
      [['devices', '-operator='], '-operator must name an operator'],
    ]
    for (const [args, message] of cases) {
      const run = await cli(args, { env: env(edge.url) })
      expect(run.code, args.join(' ')).toBe(EXIT_CODES.usage.code)
      expect(run.stderr).toContain(message)
      expect(run.stderr).toContain("Run 'serf-edge devices -h' for usage.")
    }
    expect(edge.requests).toHaveLength(0)
  })
})
