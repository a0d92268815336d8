/**
 * System C: adnanh/webhook (Debian package `webhook`) as users expose it — a hook whose trigger
 * rule checks an HMAC-SHA256 of the body (`payload-hmac-sha256`) and whose command runs
 * `serf event -coalesce=false -rpc-addr=… NAME PAYLOAD`. The hook answers after the command
 * exits (`include-command-output-in-response`), so a 200 means Serf accepted the event, as the
 * edge's 202 means the event is durably queued; a sender learns of a failure either way.
 */
import { execFile } from 'node:child_process'
import { createHmac, randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from '../scripts/harness/net.ts'
import { OwnedProcess } from '../scripts/harness/process.ts'
import { waitFor } from '../scripts/harness/wait.ts'

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
  readonly #process: OwnedProcess

  constructor(url: string, secret: string, child: OwnedProcess) {
    this.url = url
    this.#secret = secret
    this.#process = child
    running.add(this)
  }

  get pid(): number {
    return this.#process.pid!
  }

  get log(): string {
    return this.#process.output
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

  /** SIGTERM, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    running.delete(this)
    await this.#process.stop(5_000)
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
  const args = ['-hooks', hooksFile, '-ip', '127.0.0.1', '-port', String(port)]
  const child = new OwnedProcess('webhook', options.binary, args, { cwd: options.dir, keepChars: 64 * 1024 })
  const server = new WebhookServer(`http://127.0.0.1:${port}/hooks/serf-event`, secret, child)
  try {
    await waitFor(
      async () => {
        if (!child.running) throw new Error(`webhook exited before it answered:\n${server.log}`)
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
