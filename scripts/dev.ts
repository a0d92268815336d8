/**
 * `npm start`: the whole serf-edge pipeline on one machine until Ctrl-C — the edge in
 * `wrangler dev`, a Serf agent, and agent-bridge between them — with development keys.
 *
 * Environment:
 *   PORT                    the edge's port on 127.0.0.1 (default 8787)
 *   SERF_RPC_ADDR           the Serf agent the bridge delivers into (default 127.0.0.1:7373);
 *                           when none answers there, a development agent is started on it
 *   SERF_RPC_AUTH           that agent's RPC token, if any
 *   SERF_EDGE_METRICS_ADDR  the bridge's /metrics (default a free port on 127.0.0.1)
 *
 * With no agent answering and no `serf` on PATH, the edge runs alone and the console says how to
 * install Serf: the CLI can still be tried, events wait in the queue for a bridge.
 *
 * Exit codes: 0 stopped by SIGINT or SIGTERM, everything it started stopped too; 1 a setup
 * problem, or one of the processes died. `npm start` runs this with `exec`, so npm itself exits
 * with this code rather than with the signal its shell received.
 */
import { resolve } from 'node:path'
import { type DevConfig, DevSetupError, resolveDevConfig } from './dev/config.ts'
import { DevConsole } from './dev/console.ts'
import { DevPipeline } from './dev/pipeline.ts'

const out = new DevConsole()

function fail(error: unknown): void {
  const text = error instanceof DevSetupError ? error.message : ((error as Error).stack ?? String(error))
  for (const line of text.split('\n')) out.line('dev', line, 'error')
}

let config: DevConfig
try {
  config = await resolveDevConfig(resolve(import.meta.dirname, '..'), process.env)
} catch (error) {
  fail(error)
  process.exit(1)
}
const pipeline = new DevPipeline(config, out)

// Ctrl-C in a terminal reaches npm and this process; npm then passes it on again. A repeat
// within a second is that echo; a later one means "stop waiting".
let firstSignalAt = 0
const signalled = new Promise<NodeJS.Signals>((resolve) => {
  const onSignal = (signal: NodeJS.Signals) => {
    if (firstSignalAt === 0) {
      firstSignalAt = Date.now()
      resolve(signal)
    } else if (Date.now() - firstSignalAt > 1_000) {
      out.line('dev', `${signal} again: killing everything without waiting`, 'warn')
      pipeline.killNow()
      process.exit(1)
    }
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
})

type Outcome =
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'failed'; error: unknown }
  | { kind: 'crashed'; reason: string }
const bySignal = signalled.then((signal): Outcome => ({ kind: 'signal', signal }))
const started = pipeline.start()
let outcome: Outcome | undefined = await Promise.race([
  started.then(
    () => undefined,
    (error: unknown): Outcome => ({ kind: 'failed', error }),
  ),
  bySignal,
])
outcome ??= await Promise.race([bySignal, pipeline.crashed.then((reason): Outcome => ({ kind: 'crashed', reason }))])

if (outcome.kind === 'signal') out.line('dev', `${outcome.signal}: stopping what npm start started`)
else if (outcome.kind === 'crashed') fail(outcome.reason)
else fail(outcome.error)
await pipeline.stop()
// A start interrupted by the signal fails as its children go away; that is expected now.
await started.catch(() => undefined)
out.line('dev', 'everything npm start started has stopped')
process.exit(outcome.kind === 'signal' ? 0 : 1)
