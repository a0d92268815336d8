/**
 * System C: adnanh/webhook (Debian package `webhook`) as users expose it — a hook whose trigger
 * rule checks an HMAC-SHA256 of the body (`payload-hmac-sha256`) and whose command runs
 * `serf event -coalesce=false -rpc-addr=… NAME PAYLOAD`. The hook answers after the command
 * exits (`include-command-output-in-response`), so a 200 means Serf accepted the event, as the
 * edge's 202 means the event is durably queued; a sender learns of a failure either way.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, waitFor } from '../test/helpers/serf-agent.ts'

const run = promisify(execFile)
const running = new Set<WebhookServer>()
const SIGNATURE_HEADER = 'X-Hub-Signature-256'

/**
 * Path of the `webhook` binary; installs the Debian package when it is missing and we are root.
 * @throws {Error} telling the reader the one command that fixes it
 */
export async function ensureWebhook(
  log: (line: string) => void,
): Promise<{ path: string; version: string; serf: string }> {
  const find = (name = 'webhook') =>
    run('sh', ['-c', `command -v ${name}`]).then(
      ({ stdout }) => stdout.trim(),
      () => '',
    )
  const serf = process.env.SERF_BIN ?? (await find('serf'))
  if (!serf) throw new Error('serf is not on PATH (apt-get install -y serf), or set SERF_BIN')
  let path = await find()
  if (!path) {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'adnanh/webhook is not installed; run "sudo apt-get install -y webhook" and start the bench again',
      )
    }
    log('installing the Debian package "webhook" (apt-get install -y webhook)')
    const install = () =>
      run('apt-get', ['install', '-y', '-q', 'webhook'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    try {
      await install().catch(async () => {
        await run('apt-get', ['update', '-q'])
        return install()
      })
    } catch (error) {
      throw new Error(
        `could not install adnanh/webhook with apt-get: ${(error as Error).message.split('\n').slice(-3).join(' ')}`,
      )
    }
    path = await find()
    if (!path) throw new Error('apt-get installed "webhook" but no webhook binary is on PATH')
  }
  const { stdout } = await run(path, ['-version'])
  return { path, version: stdout.trim(), serf }
}

export interface WebhookOptions {
  binary: string
  /** Absolute path of `serf`: webhook resolves a bare command name against its working folder. */
  serfBinary: string
  dir: string
  /** The Serf agent the hook's `serf event` talks to. */
  rpcAddr: string
}

/** One running webhook server with one hook, `serf-event`. */
export class WebhookServer {
  readonly url: string
  readonly #secret: string
  readonly #child: ChildProcess
  readonly exited: Promise<void>
  #log = ''

  constructor(url: string, secret: string, child: ChildProcess) {
    this.url = url
    this.#secret = secret
    this.#child = child
    const keep = (chunk: Buffer) => (this.#log = (this.#log + chunk.toString()).slice(-64 * 1024))
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()))
  }

  get pid(): number {
    return this.#child.pid!
  }

  get log(): string {
    return this.#log
  }

  /** POST `body` signed as the hook's trigger rule wants: hex HMAC-SHA256 of the raw body. */
  post(body: string): Promise<Response> {
    const signature = createHmac('sha256', this.#secret).update(body).digest('hex')
    return fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: `sha256=${signature}` },
      body,
    })
  }

  async stop(): Promise<void> {
    running.delete(this)
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    this.#child.kill('SIGTERM')
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** Write the hook file, start `webhook` on a free loopback port, wait until it answers. */
export async function startWebhook(options: WebhookOptions): Promise<WebhookServer> {
  const secret = randomBytes(32).toString('hex')
  const hooks = [
    {
      id: 'serf-event',
      'execute-command': options.serfBinary,
      'command-working-directory': options.dir,
      'include-command-output-in-response': true,
      'include-command-output-in-response-on-error': true,
      'pass-arguments-to-command': [
        { source: 'string', name: 'event' },
        { source: 'string', name: '-coalesce=false' },
        { source: 'string', name: `-rpc-addr=${options.rpcAddr}` },
        { source: 'payload', name: 'name' },
        { source: 'payload', name: 'payload' },
      ],
      'trigger-rule': {
        match: { type: 'payload-hmac-sha256', secret, parameter: { source: 'header', name: SIGNATURE_HEADER } },
      },
      'trigger-rule-mismatch-http-response-code': 401,
    },
  ]
  const hooksFile = join(options.dir, 'hooks.json')
  await writeFile(hooksFile, JSON.stringify(hooks, null, 2), { mode: 0o600 })
  const port = await freePort()
  const child = spawn(options.binary, ['-hooks', hooksFile, '-ip', '127.0.0.1', '-port', String(port)], {
    cwd: options.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const server = new WebhookServer(`http://127.0.0.1:${port}/hooks/serf-event`, secret, child)
  running.add(server)
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`webhook exited with ${child.exitCode}:\n${server.log}`)
        const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => null)
        return res !== null
      },
      { timeoutMs: 15_000, intervalMs: 100, what: 'webhook to answer' },
    )
  } catch (error) {
    await server.stop()
    throw error
  }
  return server
}

/** Stop every webhook server still running. */
export async function stopAllWebhooks(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()))
}

process.once('exit', () => {
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
})
