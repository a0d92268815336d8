/** The message `npm start` prints once everything answers: what runs where, and what to type. */
import { realpathSync } from 'node:fs'
import { DEV_CLUSTER, DEV_NODE, type DevConfig } from './config.ts'
import type { DevConsole } from './console.ts'
import { DEV_DOOR_IDS } from './doors.ts'
import { shellQuote } from './serf-agent.ts'

/** What runs once `npm start` is up: what the ready message describes. */
export interface DevRunning {
  edgeUrl: string
  /** `dev`: the agent npm start runs; `existing`: one that answered; `none`: no serf. */
  agent: 'dev' | 'existing' | 'none'
  rpcAddr: string
  metricsUrl: string | undefined
}

/** The env file the printed commands read, relative to the repository. */
export const TOOLS_ENV = '.serf-edge/dev.env'

/**
 * The command that fires a first event at the local edge with the development key, runnable
 * from the directory `npm start` was typed in.
 * @example firstEventCommand(config, true)
 * // → 'node --env-file=.serf-edge/dev.env client/cli.ts event -wait deploy v1'
 */
export function firstEventCommand(config: DevConfig, wait: boolean): string {
  const cd = samePath(config.shellCwd, config.root) ? '' : `cd ${shellQuote(config.root)} && `
  return `${cd}node --env-file=${TOOLS_ENV} client/cli.ts event ${wait ? '-wait ' : ''}deploy v1`
}

export function readyMessage(
  running: DevRunning,
  config: DevConfig,
  bridgeRole: 'active' | 'standby' | undefined,
  style: DevConsole['style'],
): string[] {
  const rule = style('dim', '─'.repeat(78))
  const row = (what: string, text: string) => `  ${style('bold', what.padEnd(7))} ${text}`
  const delivering = running.agent !== 'none'
  const status = `node --env-file=${TOOLS_ENV} client/cli.ts status <id>`
  const bridge = !delivering
    ? 'not running: no Serf agent to deliver into (see above)'
    : `cluster ${DEV_CLUSTER} → Serf agent at ${running.rpcAddr}` +
      (running.metricsUrl ? `, metrics ${running.metricsUrl}` : '') +
      (bridgeRole === 'standby'
        ? '\n          standby: another bridge holds the lease; this one takes over when it lapses'
        : '')
  const serf = {
    dev: `development agent ${DEV_NODE}; its event handler prints each event here (event │)`,
    existing: `the agent at ${running.rpcAddr}, not started here: its own event handlers run`,
    none: 'none (install serf, see above)',
  }[running.agent]
  return [
    rule,
    style('bold', 'serf-edge runs on this machine. Ctrl-C stops it all.'),
    '',
    row('edge', `${running.edgeUrl}  (wrangler dev, queue state in .serf-edge/state)`),
    row('bridge', bridge),
    row('serf', serf),
    row(
      'doors',
      `Slack ${running.edgeUrl}/v1/slack/dev/commands (team ${DEV_DOOR_IDS.slackTeam}, user ${DEV_DOOR_IDS.slackUser})`,
    ),
    `          Discord ${running.edgeUrl}/v1/discord/dev/interactions, GitHub ${running.edgeUrl}/v1/github/dev`,
    `          try them with the README's recipes after: set -a; . ${TOOLS_ENV}; set +a`,
    '',
    'Fire a first event, from another terminal:',
    '',
    `  ${style('bold', firstEventCommand(config, delivering))}`,
    '',
    ...(delivering
      ? ['It prints the event id, then "delivered" once Serf has it.']
      : ['It stays queued until a bridge runs. Its status, by the id it prints:', `  ${status}`]),
    rule,
  ]
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return a === b
  }
}
