/**
 * The edge as it runs on one machine: `wrangler dev` (workerd, the Durable Object's SQLite
 * persisted to a folder) on 127.0.0.1, in a process group of its own so that stopping it
 * reaches workerd and esbuild too.
 */
import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { OwnedProcess } from './process.ts'
import { waitFor } from './wait.ts'

const REPOSITORY = resolve(import.meta.dirname, '../..')

export interface WranglerDevOptions {
  port: number
  /** Where workerd keeps the queue's state, across restarts. */
  persistTo: string
  /** The repository whose `wrangler.toml` is run; default the one this file is in. */
  root?: string
  /** Vars and secrets in `.env` format; without it wrangler reads `.dev.vars` in `root`. */
  envFile?: string
  /** Plain-text vars given on the command line (`--var`): they win over wrangler.toml and env files. */
  vars?: Record<string, string>
  /** Give a free one when several run at once: each wants its own (default 9229). */
  inspectorPort?: number
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error'
  /** The whole environment of wrangler; default this process's. */
  env?: Record<string, string | undefined>
  /** Every line wrangler and the Worker write. */
  onLine?: (line: string) => void
}

/** Spawn `wrangler dev`; {@link untilEdgeAnswers} tells when it is ready. */
export function spawnWranglerDev(options: WranglerDevOptions): OwnedProcess {
  const root = options.root ?? REPOSITORY
  const env = options.env ?? process.env
  const args = [
    join(root, 'node_modules/wrangler/bin/wrangler.js'),
    'dev',
    '--ip=127.0.0.1',
    `--port=${options.port}`,
    `--persist-to=${options.persistTo}`,
    '--show-interactive-dev-session=false',
    ...(options.envFile ? [`--env-file=${options.envFile}`] : []),
    ...Object.entries(options.vars ?? {}).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
    ...(options.inspectorPort ? [`--inspector-port=${options.inspectorPort}`] : []),
    ...(options.logLevel ? [`--log-level=${options.logLevel}`] : []),
  ]
  return new OwnedProcess('edge', process.execPath, args, {
    cwd: root,
    // The edge never reads `request.cf`: skip fetching it (a network call, a warning offline).
    env: { ...env, CLOUDFLARE_CF_FETCH_ENABLED: env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false' },
    group: true,
    onLine: options.onLine,
    keepChars: 256 * 1024,
  })
}

/** Whether the serf-edge Worker answers at `url` (its `GET /` names the service) within 5 s. */
export async function edgeAnswers(url: string): Promise<boolean> {
  try {
    // Bounded: workerd accepts connections before the Worker can answer them.
    const response = await fetch(`${url}/`, { signal: AbortSignal.timeout(5_000) })
    return response.ok && ((await response.json()) as { service?: string }).service === 'serf-edge'
  } catch {
    return false
  }
}

/**
 * Wait until the Worker that `wrangler` runs answers at `url`.
 * @throws {Error} with wrangler's output when it exits first or does not answer within `timeoutMs`
 */
export async function untilEdgeAnswers(wrangler: OwnedProcess, url: string, timeoutMs = 60_000): Promise<void> {
  try {
    await waitFor(
      () => {
        if (!wrangler.running) throw new Error(`${wrangler.name} exited before it answered`)
        return edgeAnswers(url)
      },
      { timeoutMs, intervalMs: 200, what: `the edge to answer at ${url}` },
    )
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- edge output ---\n${wrangler.output}`)
  }
}

/** Write `vars` as an env file wrangler reads with `--env-file`; readable by this user only. */
export async function writeEnvFile(path: string, vars: Record<string, string>): Promise<void> {
  const lines = Object.entries(vars).map(([name, value]) => `${name}='${value}'\n`)
  await writeFile(path, lines.join(''), { mode: 0o600 })
}
