/**
 * Runs `agent-bridge` as the real process operators run (`node agent-bridge/cli.ts`), keeps
 * its JSON log lines for assertions, and stops it by pid.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { join, resolve } from 'node:path'
import { waitFor } from './serf-agent.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const running = new Set<BridgeProcess>()

export interface BridgeProcessOptions {
  edgeUrl: string
  cluster: string
  bridgeKey: string
  rpcAddr: string
  cursorFile: string
  bridgeId?: string
  rpcAuth?: string
  extraArgs?: string[]
}

export class BridgeProcess {
  readonly #child: ChildProcess
  #out = ''
  readonly exited: Promise<number | null>

  constructor(child: ChildProcess) {
    this.#child = child
    child.stdout?.on('data', (chunk: Buffer) => (this.#out = (this.#out + chunk.toString()).slice(-4 * 1024 * 1024)))
    child.stderr?.on('data', (chunk: Buffer) => (this.#out = (this.#out + chunk.toString()).slice(-4 * 1024 * 1024)))
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ? null : code)))
  }

  get pid(): number {
    return this.#child.pid!
  }

  get output(): string {
    return this.#out
  }

  /** Parsed JSON log lines. */
  get logs(): Array<Record<string, unknown> & { msg?: string }> {
    return this.#out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  }

  /** Wait for a log line whose `msg` matches. */
  waitForLog(pattern: RegExp, timeoutMs = 30_000) {
    return waitFor(() => this.logs.find((l) => pattern.test(String(l.msg))), {
      timeoutMs,
      what: `bridge log ${pattern}`,
    })
  }

  /** SIGTERM and wait for the exit code. */
  async stop(): Promise<number | null> {
    running.delete(this)
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGTERM')
    return this.exited
  }

  /** `kill -9`: no chance to persist, ack or release. */
  async kill(): Promise<void> {
    running.delete(this)
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
    await this.exited
  }
}

/** Start a bridge process. */
export function startBridge(options: BridgeProcessOptions): BridgeProcess {
  const args = [
    join(ROOT, 'agent-bridge/cli.ts'),
    `-edge-url=${options.edgeUrl}`,
    `-cluster=${options.cluster}`,
    `-rpc-addr=${options.rpcAddr}`,
    `-cursor-file=${options.cursorFile}`,
    `-bridge-id=${options.bridgeId ?? 'bridge-test'}`,
    '-metrics-addr=127.0.0.1:0',
    ...(options.extraArgs ?? []),
  ]
  const env: Record<string, string | undefined> = { ...process.env, SERF_EDGE_BRIDGE_KEY: options.bridgeKey }
  delete env.SERF_RPC_AUTH
  if (options.rpcAuth) env.SERF_RPC_AUTH = options.rpcAuth
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env })
  const bridge = new BridgeProcess(child)
  running.add(bridge)
  return bridge
}

/** Stop every bridge still running. */
export async function stopAllBridges(): Promise<void> {
  await Promise.all([...running].map((b) => b.kill()))
}
