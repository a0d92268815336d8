/**
 * The whole pipeline on one machine: the edge in `wrangler dev`, a Serf agent (a development one
 * when none answers), and agent-bridge between them. `start()` brings them up in that order and
 * `stop()` takes them down in the reverse one, so the bridge releases its lease at a live edge.
 *
 * Each child runs in a process group of its own, for two reasons: Ctrl-C in the terminal then
 * reaches only `npm start`, which stops the children in order (the bridge must release its lease
 * while the edge still runs); and `wrangler dev` spawns workerd and esbuild, which only a signal
 * to the whole group reaches.
 */
import { spawnBridge } from '../harness/bridge.ts'
import { portAnswers } from '../harness/net.ts'
import { OwnedProcess, type ProcessExit } from '../harness/process.ts'
import { waitFor } from '../harness/wait.ts'
import { edgeAnswers, spawnWranglerDev } from '../harness/wrangler.ts'
import { DEV_CLUSTER, type DevConfig, type DevPaths, DevSetupError, devPaths } from './config.ts'
import { bridgeLine, type DevConsole, serfAgentLine, userEventLine, wranglerLine } from './console.ts'
import { type DevKeys, ensureDevKeys, writeToolsEnv } from './keys.ts'
import { DEV_OPERATOR, devPage, devPageOrigin } from './operators.ts'
import { type DevRunning, readyMessage } from './ready.ts'
import { describeAgent, EventFeed, installHint, planDevAgent, prepareDevAgent } from './serf-agent.ts'

const EDGE_READY_TIMEOUT_MS = 120_000
const BRIDGE_READY_TIMEOUT_MS = 60_000

export class DevPipeline {
  readonly #config: DevConfig
  readonly #paths: DevPaths
  readonly #out: DevConsole
  readonly #children: OwnedProcess[] = []
  #feed: EventFeed | undefined
  #stopping = false
  #stopped = false
  #bridgeRole: 'active' | 'standby' | undefined
  #metricsUrl: string | undefined
  #crash!: (reason: string) => void
  /** Settles with a reason when a child exits while nobody asked it to. */
  readonly crashed: Promise<string> = new Promise((resolve) => (this.#crash = resolve))

  constructor(config: DevConfig, out: DevConsole) {
    this.#config = config
    this.#paths = devPaths(config.root)
    this.#out = out
  }

  /**
   * Bring everything up and print how to fire a first event.
   * @throws {DevSetupError} something is in the way (port taken, a child failed to start)
   */
  async start(): Promise<DevRunning> {
    const { port, rpcAddr, root } = this.#config
    const edgeUrl = `http://127.0.0.1:${port}`
    const keys = await this.#keys(edgeUrl)
    if (await portAnswers(`127.0.0.1:${port}`)) {
      throw new DevSetupError(`something already listens on 127.0.0.1:${port}; set PORT to another port`)
    }
    await this.#startEdge(edgeUrl)
    let agent: DevRunning['agent'] = 'existing'
    if (await portAnswers(rpcAddr)) {
      this.#out.line('serf', `a Serf agent answers at ${rpcAddr}: the bridge delivers into it, its own handlers run`)
    } else if (this.#config.serfBin) {
      await this.#startAgent()
      agent = 'dev'
    } else {
      agent = 'none'
      const plan = await planDevAgent(this.#config, this.#paths)
      this.#out.line('serf', `no Serf agent answers at ${rpcAddr}, and there is no serf on PATH to start one`, 'warn')
      for (const line of installHint(plan, root)) this.#out.line('serf', line)
      this.#out.line('serf', 'Until then the edge runs alone: events are queued, and delivered once a bridge runs.')
    }
    if (agent !== 'none') await this.#startBridge(edgeUrl, keys)
    const page = await devPage(edgeUrl, port, keys.senderKey)
    if (page.error) this.#out.line('edge', `no invite for operator ${DEV_OPERATOR}: ${page.error}`, 'warn')
    const running: DevRunning = { edgeUrl, agent, rpcAddr, metricsUrl: this.#metricsUrl, page }
    this.#out.block(readyMessage(running, this.#config, this.#bridgeRole, this.#out))
    return running
  }

  /** Stop what was started, newest first: bridge, agent, edge. Safe to call more than once. */
  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    const timeouts: Record<string, number> = { bridge: 15_000, serf: 10_000, edge: 10_000 }
    for (const child of [...this.#children].reverse()) {
      if (child.running) this.#out.line('dev', `stopping ${child.name} (pid ${child.pid})`)
      // SIGTERM, not SIGINT, for Serf too: a graceful leave would reset the Lamport clocks its
      // snapshot keeps, and event times would start over at 1 on the next run.
      await child.stop(timeouts[child.name] ?? 10_000)
      if (child.name === 'serf') await this.#feed?.stop()
    }
    this.#stopped = true
  }

  /** SIGKILL every child's group at once: for when `npm start` is dying itself. */
  killNow(): void {
    if (this.#stopped) return
    for (const child of this.#children) child.killNow()
  }

  async #keys(edgeUrl: string): Promise<DevKeys> {
    const { keys, devVars, generated } = await ensureDevKeys(this.#paths)
    await writeToolsEnv(this.#paths, keys, edgeUrl)
    const what = {
      created: 'created with new',
      appended: `given new ${generated.join(', ')} as`,
      unchanged: 'has the',
    }
    this.#out.line('keys', `.dev.vars ${what[devVars]} development keys of sender dev and cluster dev (edge secrets)`)
    this.#out.line('keys', '.serf-edge/dev.env holds them for the serf-edge CLI and agent-bridge')
    this.#out.line('keys', 'Development keys, for this machine only. Both files are git-ignored.')
    return keys
  }

  async #startEdge(edgeUrl: string): Promise<void> {
    const { root, port, env } = this.#config
    this.#out.line('edge', `starting wrangler dev on ${edgeUrl} (queue state in .serf-edge/state)`)
    const edge = this.#own(
      spawnWranglerDev({
        root,
        port,
        persistTo: this.#paths.edgeState,
        // Invites point at the page on localhost, where WebAuthn works; the port may change between runs.
        vars: { PAGE_ORIGIN: devPageOrigin(port) },
        env,
        onLine: (line) => this.#out.shown('edge', wranglerLine(line)),
      }),
    )
    await this.#until(edge, EDGE_READY_TIMEOUT_MS, 'the edge to answer', () => edgeAnswers(edgeUrl))
  }

  async #startAgent(): Promise<void> {
    const plan = await planDevAgent(this.#config, this.#paths)
    await prepareDevAgent(this.#config, this.#paths, plan)
    this.#out.line('serf', `no Serf agent at ${this.#config.rpcAddr}: starting a development agent`)
    this.#out.line('serf', describeAgent(plan, this.#config.root))
    const agent = this.#own(
      new OwnedProcess('serf', plan.command, plan.args, {
        cwd: this.#config.root,
        env: this.#config.env,
        group: true,
        onLine: (line) => this.#out.shown('serf', serfAgentLine(line)),
      }),
    )
    this.#feed = new EventFeed(plan.eventsFile, (event) => this.#out.line('event', userEventLine(event)))
    this.#feed.start()
    await this.#until(agent, 15_000, `the Serf agent's RPC at ${this.#config.rpcAddr}`, () =>
      portAnswers(this.#config.rpcAddr),
    )
  }

  async #startBridge(edgeUrl: string, keys: DevKeys): Promise<void> {
    const { root, rpcAddr, rpcAuth, metricsAddr, env } = this.#config
    const options = {
      edgeUrl,
      cluster: DEV_CLUSTER,
      bridgeKey: keys.bridgeKey,
      rpcAddr,
      rpcAuth,
      cursorFile: this.#paths.cursorFile,
      bridgeId: null,
      metricsAddr,
    }
    const bridge = this.#own(spawnBridge(options, { root, env, group: true, onLine: (line) => this.#bridgeLog(line) }))
    await this.#until(bridge, BRIDGE_READY_TIMEOUT_MS, 'the bridge to reach the edge', () => this.#bridgeRole)
  }

  #bridgeLog(line: string): void {
    const shown = bridgeLine(line)
    const msg = /"msg":"([^"]*)"/.exec(line)?.[1] ?? ''
    if (msg.startsWith('lease acquired')) this.#bridgeRole = 'active'
    else if (msg.startsWith('standby')) this.#bridgeRole ??= 'standby'
    const metrics = /"metrics":"([^"]+)"/.exec(line)?.[1]
    if (metrics) this.#metricsUrl = `http://${metrics}/metrics`
    this.#out.shown('bridge', shown)
  }

  /** Keep `child` for `stop()`, and report it as a crash when it exits unasked. */
  #own(child: OwnedProcess): OwnedProcess {
    this.#children.push(child)
    void child.exited.then((exit) => {
      if (!this.#stopping) {
        this.#crash(`${child.name} ${exitText(exit)}\n--- last output of ${child.name} ---\n${child.tail()}`)
      }
    })
    return child
  }

  /** Wait for `check`, failing early with the child's last output if the child exits first. */
  async #until<T>(
    child: OwnedProcess,
    timeoutMs: number,
    what: string,
    check: () => T | undefined | false | Promise<T | undefined | false>,
  ): Promise<T> {
    try {
      return await waitFor(
        () => {
          if (!child.running) throw new Error(`${child.name} exited before ${what}`)
          return check()
        },
        { timeoutMs, what },
      )
    } catch (error) {
      throw new DevSetupError(`${(error as Error).message}\n--- last output of ${child.name} ---\n${child.tail()}`)
    }
  }
}

function exitText(exit: ProcessExit): string {
  if (exit.error) return `could not be run: ${exit.error.message}`
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`
}
