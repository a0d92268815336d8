/**
 * Starts the edge as users run it locally: `wrangler dev` (workerd, SQLite-backed Durable
 * Object persisted to a folder) on a free loopback port, with development keys made for the
 * test. Every process started is stopped by pid, also when a test fails.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { generateHmacKey } from '../../protocol/signature.ts'
import { secretName } from '../../protocol/wire.ts'
import { freePort, waitFor } from './serf-agent.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const running = new Set<LocalEdge>()

export interface EdgeOptions {
  dir: string
  clusters: Record<string, Record<string, unknown>>
  /**
   * Senders and their scopes; each gets a fresh HMAC key unless `verifyKey` (e.g. a `whpk_`
   * Ed25519 public key) is given. Default: `ci` on every cluster.
   */
  senders?: Record<string, { clusters: string[] | '*'; events?: string[]; verifyKey?: string }>
}

export class LocalEdge {
  readonly url: string
  readonly senderKeys: Record<string, string>
  readonly bridgeKeys: Record<string, string>
  readonly #args: string[]
  #child!: ChildProcess
  #log = ''
  exited!: Promise<number | null>

  constructor(url: string, args: string[], senderKeys: Record<string, string>, bridgeKeys: Record<string, string>) {
    this.url = url
    this.#args = args
    this.senderKeys = senderKeys
    this.bridgeKeys = bridgeKeys
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  get log(): string {
    return this.#log
  }

  /** Start wrangler dev (again: same port, keys and persisted state) and wait until it answers. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, this.#args, {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
    })
    this.#child = child
    const keep = (chunk: Buffer) => {
      this.#log = (this.#log + chunk.toString()).slice(-256 * 1024)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)))
    running.add(this)
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`)
          const res = await fetch(`${this.url}/`).catch(() => null)
          return res?.ok === true
        },
        { timeoutMs: 60_000, intervalMs: 200, what: 'wrangler dev to answer' },
      )
    } catch (error) {
      await this.stop()
      throw new Error(`${(error as Error).message}\n--- wrangler output ---\n${this.#log}`)
    }
  }

  /** SIGTERM the wrangler process group, SIGKILL after 5 s. */
  async stop(): Promise<void> {
    running.delete(this)
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    const group = -this.#child.pid!
    try {
      process.kill(group, 'SIGTERM')
    } catch {
      return
    }
    const timer = setTimeout(() => {
      try {
        process.kill(group, 'SIGKILL')
      } catch {}
    }, 5_000)
    await this.exited
    clearTimeout(timer)
  }
}

/** Start `wrangler dev` for the project's Worker and wait until it answers. */
export async function startEdge(options: EdgeOptions): Promise<LocalEdge> {
  await mkdir(options.dir, { recursive: true })
  const senders = options.senders ?? { ci: { clusters: '*' } }
  const senderKeys: Record<string, string> = {}
  const bridgeKeys: Record<string, string> = {}
  const scopes = Object.fromEntries(Object.entries(senders).map(([id, { verifyKey: _, ...scope }]) => [id, scope]))
  const vars: Record<string, string> = {
    CLUSTERS: JSON.stringify(options.clusters),
    SENDERS: JSON.stringify(scopes),
  }
  for (const [id, sender] of Object.entries(senders)) {
    if (sender.verifyKey) {
      vars[secretName('SENDER_KEYS', id)] = sender.verifyKey
    } else {
      senderKeys[id] = generateHmacKey().secret
      vars[secretName('SENDER_KEYS', id)] = senderKeys[id]
    }
  }
  for (const id of Object.keys(options.clusters)) {
    bridgeKeys[id] = generateHmacKey().secret
    vars[secretName('BRIDGE_KEYS', id)] = bridgeKeys[id]
  }
  const envFile = join(options.dir, 'edge.env')
  await writeFile(
    envFile,
    `${Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n')}\n`,
    { mode: 0o600 },
  )
  const port = await freePort()
  const inspector = await freePort()
  const args = [
    join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--env-file',
    envFile,
    '--persist-to',
    join(options.dir, 'state'),
    '--show-interactive-dev-session=false',
    '--log-level',
    'info',
  ]
  const edge = new LocalEdge(`http://127.0.0.1:${port}`, args, senderKeys, bridgeKeys)
  await edge.start()
  return edge
}

/** Stop every edge still running (afterAll/afterEach). */
export async function stopAllEdges(): Promise<void> {
  await Promise.all([...running].map((edge) => edge.stop()))
}
