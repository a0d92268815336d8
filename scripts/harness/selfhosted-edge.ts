/**
 * The self-hosted edge for tests: built by `scripts/selfhost.ts` as an operator builds it (the
 * same bundle, generated workerd config and `serve` script), keys handed over the way the docs
 * say (one file per key in SERF_EDGE_KEYS_DIR), the queues in a state folder that outlives
 * restarts and kill -9. `serve` execs workerd, so the pid kept is workerd's own.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { keyNamesFor } from '../selfhost/plan.ts'
import type { LocalEdge } from './local-edge.ts'
import { OwnedProcess } from './process.ts'
import { untilEdgeAnswers } from './wrangler.ts'

const REPOSITORY = resolve(import.meta.dirname, '../..')
const running = new Set<SelfHostedEdge>()

export interface SelfHostedEdgeOptions {
  /** Holds the build, the keys folder and the state folder. */
  dir: string
  port: number
  /** Every var and key of the Worker, as text; keys are told apart by their names. */
  vars: Record<string, string>
}

export class SelfHostedEdge implements LocalEdge {
  readonly runtime = 'selfhosted'
  readonly url: string
  readonly senderKeys: Record<string, string>
  readonly bridgeKeys: Record<string, string>
  readonly buildDir: string
  readonly stateDir: string
  readonly keysDir: string
  readonly #options: SelfHostedEdgeOptions
  #workerd: OwnedProcess | undefined

  constructor(options: SelfHostedEdgeOptions, senderKeys: Record<string, string>, bridgeKeys: Record<string, string>) {
    this.#options = options
    this.url = `http://127.0.0.1:${options.port}`
    this.senderKeys = senderKeys
    this.bridgeKeys = bridgeKeys
    this.buildDir = join(options.dir, 'selfhost')
    this.stateDir = join(options.dir, 'state')
    this.keysDir = join(options.dir, 'keys')
  }

  get pid(): number | undefined {
    return this.#workerd?.pid
  }

  get log(): string {
    return this.#workerd?.output ?? ''
  }

  /** `node scripts/selfhost.ts`: vars on the command line, keys into files (mode 0600). */
  async build(): Promise<void> {
    const keyNames = new Set(keyNamesFor(this.#options.vars))
    const vars = Object.entries(this.#options.vars).filter(([name]) => !keyNames.has(name))
    await mkdir(this.keysDir, { recursive: true, mode: 0o700 })
    for (const name of keyNames) {
      const value = this.#options.vars[name]
      if (value !== undefined) await writeFile(join(this.keysDir, name), value, { mode: 0o600 })
    }
    const args = [
      join(REPOSITORY, 'scripts/selfhost.ts'),
      `--out=${this.buildDir}`,
      `--listen=127.0.0.1:${this.#options.port}`,
      // Tests stand in for Slack's response_url and Discord's API on loopback.
      '--outbound-allow=public,local',
      ...vars.map(([name, value]) => `--var=${name}:${value}`),
    ]
    const build = new OwnedProcess('build:selfhost', process.execPath, args, { cwd: REPOSITORY })
    const { code } = await build.exited
    if (code !== 0) throw new Error(`build:selfhost failed (exit ${code}):\n${build.output}`)
  }

  /** Run `serve` (again: same port, keys and state) and wait until the Worker answers. */
  async start(): Promise<void> {
    this.#workerd = new OwnedProcess('edge', join(this.buildDir, 'serve'), [], {
      cwd: this.#options.dir,
      env: {
        PATH: process.env.PATH,
        SERF_EDGE_STATE_DIR: this.stateDir,
        SERF_EDGE_KEYS_DIR: this.keysDir,
        SERF_EDGE_LISTEN: `127.0.0.1:${this.#options.port}`,
      },
      keepChars: 256 * 1024,
    })
    running.add(this)
    try {
      await untilEdgeAnswers(this.#workerd, this.url, 30_000)
    } catch (error) {
      await this.stop()
      throw error
    }
  }

  async stop(): Promise<void> {
    running.delete(this)
    await this.#workerd?.stop(5_000)
  }

  async kill(): Promise<void> {
    running.delete(this)
    await this.#workerd?.kill()
  }
}

/** Stop every self-hosted edge still running. */
export async function stopAllSelfHostedEdges(): Promise<void> {
  await Promise.all([...running].map((edge) => edge.stop()))
}
