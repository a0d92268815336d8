/**
 * `npm run build:selfhost` as an operator runs it: the folder it makes starts on workerd, serves
 * HTTPS with the operator's certificate, answers the health probe, serves the on-call page's
 * files as Workers static assets do, refuses to start without its keys, keeps keys out of the
 * config unless asked, and stops cleanly on SIGTERM.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { get } from 'node:https'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateHmacKey } from '../../protocol/signature.ts'
import { freePort } from '../../scripts/harness/net.ts'
import { OwnedProcess } from '../../scripts/harness/process.ts'
import { waitFor } from '../../scripts/harness/wait.ts'

const run = promisify(execFile)
const REPOSITORY = resolve(import.meta.dirname, '../..')
const CLUSTERS = JSON.stringify({ prod: { maxEventAge: '10m' } })
const SENDERS = JSON.stringify({ 'deploy-bot': { clusters: ['prod'], events: ['deploy'] } })
const KEY_NAMES = ['BRIDGE_KEYS_PROD', 'SENDER_KEYS_DEPLOY_BOT']

let dir: string
let ca: string
let port: number
const started: OwnedProcess[] = []

/** `node scripts/selfhost.ts` into `out` with the test's clusters and senders; `env` default this one's. */
async function build(out: string, more: string[] = [], env: NodeJS.ProcessEnv = process.env) {
  return run(
    process.execPath,
    [
      join(REPOSITORY, 'scripts/selfhost.ts'),
      `--out=${out}`,
      `--var=CLUSTERS:${CLUSTERS}`,
      `--var=SENDERS:${SENDERS}`,
      ...more,
    ],
    { cwd: REPOSITORY, env },
  )
}

function serve(out: string, env: Record<string, string>): OwnedProcess {
  const workerd = new OwnedProcess('edge', join(out, 'serve'), [], {
    env: { PATH: process.env.PATH, SERF_EDGE_STATE_DIR: join(dir, 'state'), ...env },
  })
  started.push(workerd)
  return workerd
}

/** GET over HTTPS trusting only the test's own CA. */
function httpsGet(path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((done, fail) => {
    const request = get({ host: 'localhost', port, path, ca, servername: 'localhost' }, (response) => {
      let body = ''
      response.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk
      })
      response.on('end', () => done({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', fail)
    request.setTimeout(5_000, () => request.destroy(new Error('timed out')))
  })
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-selfhost-'))
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost',
  ])
  ca = await readFile(join(dir, 'cert.pem'), 'utf8')
  port = await freePort()
  await build(join(dir, 'tls'), [
    `--listen=127.0.0.1:${port}`,
    `--tls-cert=${join(dir, 'cert.pem')}`,
    `--tls-key=${join(dir, 'key.pem')}`,
  ])
  await mkdir(join(dir, 'keys'), { mode: 0o700 })
  for (const name of KEY_NAMES) await writeFile(join(dir, 'keys', name), generateHmacKey().secret, { mode: 0o600 })
}, 120_000)

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()))
  await rm(dir, { recursive: true, force: true })
})

describe('the built folder', () => {
  it('refuses to start without its keys, naming each one (exit 78)', async () => {
    const workerd = serve(join(dir, 'tls'), {})
    const exit = await workerd.exited
    expect(exit.code).toBe(78)
    expect(workerd.output).toContain(`keys not set: ${KEY_NAMES.join(' ')}`)
  })

  it('serves HTTPS with the given certificate: health, the page with its headers, no listings; stops on SIGTERM', async () => {
    const workerd = serve(join(dir, 'tls'), { SERF_EDGE_KEYS_DIR: join(dir, 'keys') })
    const health = await waitFor(() => httpsGet('/healthz').catch(() => undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the self-hosted edge to answer over HTTPS',
    })
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toEqual({ status: 'ok', service: 'serf-edge' })

    const page = await httpsGet('/app/')
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'")
    expect(page.body).toContain('<script')
    const script = await httpsGet('/app/sw.js')
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8')
    const manifest = await httpsGet('/app/manifest.webmanifest')
    expect(manifest.headers['content-type']).toBe('application/manifest+json')
    expect((await httpsGet('/app/icons/')).status).toBe(404)
    expect((await httpsGet('/app/missing.js')).status).toBe(404)
    expect((await httpsGet('/app/index.html')).status).toBe(307)

    // State lands where it was told, one folder per Durable Object class.
    expect((await stat(join(dir, 'state'))).isDirectory()).toBe(true)

    const stopping = Date.now()
    workerd.signal('SIGTERM')
    const exit = await workerd.exited
    expect(Date.now() - stopping).toBeLessThan(5_000)
    expect(exit.signal === 'SIGTERM' || exit.code === 0).toBe(true)
  })

  it('reads keys from the environment at start: the config names them, never holds them', async () => {
    const config = await readFile(join(dir, 'tls/serf-edge.capnp'), 'utf8')
    for (const name of KEY_NAMES) expect(config).toContain(`(name = "${name}", fromEnvironment = "${name}")`)
    for (const name of KEY_NAMES) {
      expect(config).not.toContain((await readFile(join(dir, 'keys', name), 'utf8')).trim())
    }
  })

  it('writes keys into the config only with --inline-keys, and then readable by its owner only', async () => {
    const keys = Object.fromEntries(KEY_NAMES.map((name) => [name, generateHmacKey().secret]))
    const out = join(dir, 'inline')
    await build(out, ['--inline-keys'], { ...process.env, ...keys })
    const config = await readFile(join(out, 'serf-edge.capnp'), 'utf8')
    for (const [name, value] of Object.entries(keys)) expect(config).toContain(`(name = "${name}", text = "${value}")`)
    expect((await stat(join(out, 'serf-edge.capnp'))).mode & 0o777).toBe(0o600)
    // No keys left to read at start: it starts with an empty environment.
    const listen = await freePort()
    const workerd = serve(out, { SERF_EDGE_LISTEN: `127.0.0.1:${listen}` })
    const health = await waitFor(
      () =>
        fetch(`http://127.0.0.1:${listen}/healthz`)
          .then((r) => r)
          .catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 200, what: 'the inline-keys edge to answer' },
    )
    expect(health.status).toBe(200)
    await workerd.stop()
  })

  it('comes with a systemd unit that systemd-analyze accepts, handing each key over as a credential', async () => {
    const out = join(dir, 'unit')
    await build(out, [`--install-dir=${out}`])
    const unit = await readFile(join(out, 'serf-edge.service'), 'utf8')
    for (const name of KEY_NAMES) expect(unit).toContain(`LoadCredential=${name}:/etc/serf-edge/edge-keys/${name}`)
    expect(unit).toContain(`ExecStart=${out}/serve`)
    expect(unit).toMatch(/^DynamicUser=yes$/m)
    expect(unit).toMatch(/^StateDirectory=serf-edge-queues$/m)
    const verified = await run('systemd-analyze', ['verify', join(out, 'serf-edge.service')])
    expect(`${verified.stdout}${verified.stderr}`).toBe('')
  })

  it('refuses bad options and a folder it did not build, with exit 2', async () => {
    const foreign = join(dir, 'foreign')
    await mkdir(foreign)
    await writeFile(join(foreign, 'notes.txt'), 'mine')
    const refused = await build(foreign).catch((error: { code: number; stderr: string }) => error)
    expect(refused).toMatchObject({ code: 2 })
    expect((refused as { stderr: string }).stderr).toMatch(/is not empty and was not built by this script/)
    expect(await readFile(join(foreign, 'notes.txt'), 'utf8')).toBe('mine')

    const badListen = await build(join(dir, 'x'), ['--listen=8787']).catch(
      (error: { code: number; stderr: string }) => error,
    )
    expect(badListen).toMatchObject({ code: 2 })
    expect((badListen as { stderr: string }).stderr).toMatch(/--listen wants host:port/)
    const halfTls = await build(join(dir, 'y'), [`--tls-cert=${join(dir, 'cert.pem')}`]).catch(
      (error: { code: number; stderr: string }) => error,
    )
    expect((halfTls as { stderr: string }).stderr).toMatch(/--tls-cert and --tls-key go together/)
    const inlineUnset = await build(join(dir, 'z'), ['--inline-keys']).catch(
      (error: { code: number; stderr: string }) => error,
    )
    expect((inlineUnset as { stderr: string }).stderr).toMatch(
      /--inline-keys: not set in the environment: BRIDGE_KEYS_PROD/,
    )
  })
})
