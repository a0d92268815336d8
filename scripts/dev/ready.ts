/** The message `npm start` prints once everything answers: what runs where, and what to type. */
import { realpathSync } from 'node:fs'
import { qrCode } from '../../client/cli-operators.ts'
import { DEV_CLUSTER, DEV_NODE, type DevConfig } from './config.ts'
import type { DevConsole } from './console.ts'
import { DEV_DOOR_IDS } from './doors.ts'
import { DEV_APPROVER, DEV_OPERATOR, type DevPage } from './operators.ts'
import { shellQuote } from './serf-agent.ts'

/** What runs once `npm start` is up: what the ready message describes. */
export interface DevRunning {
  edgeUrl: string
  /** `dev`: the agent npm start runs; `existing`: one that answered; `none`: no serf. */
  agent: 'dev' | 'existing' | 'none'
  rpcAddr: string
  metricsUrl: string | undefined
  /** The on-call page, and an invite for the development operator. */
  page: DevPage
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
  return cliCommand(config, `event ${wait ? '-wait ' : ''}deploy v1`)
}

/** `serf-edge <args>` with the development keys, runnable from where `npm start` was typed. */
function cliCommand(config: DevConfig, args: string): string {
  const cd = samePath(config.shellCwd, config.root) ? '' : `cd ${shellQuote(config.root)} && `
  return `${cd}node --env-file=${TOOLS_ENV} client/cli.ts ${args}`
}

export function readyMessage(
  running: DevRunning,
  config: DevConfig,
  bridgeRole: 'active' | 'standby' | undefined,
  out: Pick<DevConsole, 'style' | 'color'>,
): string[] {
  const style = (format: Parameters<DevConsole['style']>[0], text: string) => out.style(format, text)
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
    ...pageRows(running.page, config, out, row),
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

/** The on-call page: where it is, the invite for the development operator, and its QR code. */
function pageRows(
  page: DevPage,
  config: DevConfig,
  out: Pick<DevConsole, 'color'>,
  row: (what: string, text: string) => string,
): string[] {
  const indent = ' '.repeat(10)
  const another =
    `${indent}more invites: ${cliCommand(config, `invite -operator=${DEV_OPERATOR}`)}\n` +
    `${indent}(or -operator=${DEV_APPROVER}, who approves "Deploy main", in a second browser profile)`
  const head = row(
    'page',
    `${page.url}  (on-call page; operator ${DEV_OPERATOR}, 3 quick actions on cluster ${DEV_CLUSTER})`,
  )
  if (!page.invite) return [head, `${indent}no invite could be made (see above); once the edge allows it:`, another]
  const until = page.invite.expiresAt.replace(/\.\d+Z$/, 'Z')
  return [
    head,
    `${indent}enrol a browser with this invite, once, until ${until}:`,
    `${indent}${page.invite.url}`,
    `${indent}no phone needed: a desktop browser's passkey works, or DevTools' WebAuthn virtual authenticator`,
    ...qrCode(page.invite.url, { color: out.color })
      .split('\n')
      .map((line) => `${indent}${line}`),
    `${indent}(the code is for a phone that reaches this machine as localhost, e.g. adb reverse tcp:${config.port} tcp:${config.port})`,
    another,
  ]
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b)
  } catch {
    return a === b
  }
}
