/**
 * The development Serf agent: a single node on loopback whose event handler appends every user
 * event to a file that `npm start` follows and prints, so an event is seen arriving where it
 * would run a real handler.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { freePort } from '../harness/net.ts'
import { type RecordedUserEvent, RecordTail, recordCommand } from '../harness/recorder.ts'
import { DEV_NODE, type DevConfig, type DevPaths } from './config.ts'

/** How the development agent is run. */
export interface DevAgentPlan {
  command: string
  args: string[]
  /** The handler's record, in the recorder's format (scripts/harness/recorder.ts). */
  eventsFile: string
}

// Written to .serf-edge/serf/print-event.sh, where a reader can look at it: the harness's
// recorder as a script, writing beside itself.
const HANDLER = `#!/bin/sh
# Event handler of the development Serf agent that \`npm start\` runs (scripts/dev.ts). It appends
# each user event (Lamport time, name, payload in base64) to events.tsv; npm start prints them.
${recordCommand('"$(dirname "$0")/events.tsv"')}
`

/**
 * The command for a single-node agent at `config.rpcAddr`, gossiping on a free loopback port.
 * Paths are those it will have; nothing is written.
 */
export async function planDevAgent(config: DevConfig, paths: DevPaths): Promise<DevAgentPlan> {
  const handler = join(paths.serfDir, 'print-event.sh')
  const args = [
    'agent',
    `-node=${DEV_NODE}`,
    `-bind=127.0.0.1:${await freePort()}`,
    `-rpc-addr=${config.rpcAddr}`,
    `-snapshot=${join(paths.serfDir, 'snapshot')}`,
    `-event-handler=user=${shellQuote(handler)}`,
    '-log-level=warn',
  ]
  // `serf agent` has no flag for the RPC token, only the config file key.
  if (config.rpcAuth) args.push(`-config-file=${join(paths.serfDir, 'rpc-auth.json')}`)
  return { command: config.serfBin ?? 'serf', args, eventsFile: join(paths.serfDir, 'events.tsv') }
}

/** Write the handler script (and the RPC token file), and empty the events file. */
export async function prepareDevAgent(config: DevConfig, paths: DevPaths, plan: DevAgentPlan): Promise<void> {
  await mkdir(paths.serfDir, { recursive: true })
  await writeFile(join(paths.serfDir, 'print-event.sh'), HANDLER, { mode: 0o755 })
  await writeFile(plan.eventsFile, '')
  if (config.rpcAuth) {
    const file = join(paths.serfDir, 'rpc-auth.json')
    await writeFile(file, JSON.stringify({ rpc_auth: config.rpcAuth }), { mode: 0o600 })
  }
}

/** The plan as a shell command a reader could run, paths relative to `root`. */
export function describeAgent(plan: DevAgentPlan, root: string): string {
  const relative = (arg: string) => arg.replaceAll(`${root}/`, '')
  return ['serf', ...plan.args.map(relative)].join(' ')
}

/** What to tell someone without `serf`: how to get it, and what `npm start` would then do. */
export function installHint(plan: DevAgentPlan, root: string): string[] {
  return [
    'Install Serf, then run npm start again:',
    '  sudo apt-get install serf            (Debian, Ubuntu)',
    '  or a binary from https://releases.hashicorp.com/serf/ on PATH',
    'npm start would then run a development agent and agent-bridge against it:',
    `  ${describeAgent(plan, root)}`,
  ]
}

/** Follows the handler's events file and hands each new event to `onEvent`. */
export class EventFeed {
  readonly #tail: RecordTail
  readonly #onEvent: (event: RecordedUserEvent) => void
  #timer: NodeJS.Timeout | undefined

  constructor(file: string, onEvent: (event: RecordedUserEvent) => void) {
    this.#tail = new RecordTail(file)
    this.#onEvent = onEvent
  }

  start(): void {
    this.#timer = setInterval(() => void this.#readMore(), 200)
  }

  /** Reads what is left, then stops following. */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await this.#readMore()
    await this.#tail.close()
  }

  async #readMore(): Promise<void> {
    for (const event of await this.#tail.read()) this.#onEvent(event)
  }
}

/** `text` as one word for `/bin/sh`. */
export function shellQuote(text: string): string {
  return /^[\w./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}
