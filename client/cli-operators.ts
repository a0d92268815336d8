/**
 * `serf-edge invite` and `serf-edge devices`: enrol an operator's phone for the on-call page with
 * a one-time link (printed, and drawn as a QR code to scan off the screen), list enrolled
 * devices, revoke one.
 */
import { renderUnicodeCompact } from 'uqr'
import { parseFlags, UsageError } from '../protocol/flags.ts'
import { type CliIo, HELP_FLAGS, help, senderOptions, withKeySource } from './cli-common.ts'
import { resolveEdgeSettings, SENDER_FLAGS } from './cli-config.ts'
import { DEVICES_HELP, EXIT_CODES, type ExitCode, INVITE_HELP, json } from './cli-text.ts'
import { createInvite, type Device, type Invite, listDevices, revokeDevice } from './operators.ts'

const INVITE_FLAGS = {
  ...HELP_FLAGS,
  ...SENDER_FLAGS,
  operator: 'string',
  'no-qr': 'boolean',
  json: 'boolean',
} as const
const DEVICES_FLAGS = { ...HELP_FLAGS, ...SENDER_FLAGS, operator: 'string', json: 'boolean' } as const
const REVOKE_FLAGS = { ...HELP_FLAGS, ...SENDER_FLAGS, json: 'boolean' } as const

/** Run `serf-edge invite` with `args`. */
export async function inviteCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, INVITE_FLAGS)
  if (flags.h || flags.help) return help(io, INVITE_HELP)
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument "${positionals[0]}" (name the operator with -operator)`, 'invite')
  }
  const { operator } = flags
  if (!operator) throw new UsageError('an operator must be specified with -operator', 'invite')
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = senderOptions(settings, io, 'invite')
  const invite = await withKeySource(settings, () => createInvite({ ...edge, operator }))
  if (flags.json) io.stdout(json(invite))
  else io.stdout(inviteText(invite, Date.now(), flags['no-qr'] ? undefined : { color: io.color ?? false }))
  return EXIT_CODES.ok.code
}

/** Run `serf-edge devices` with `args`: list, or `revoke ID`. */
export async function devicesCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, DEVICES_FLAGS)
  if (flags.h || flags.help) return help(io, DEVICES_HELP)
  const [subcommand, ...rest] = positionals
  if (subcommand === 'revoke') {
    if (flags.operator !== undefined)
      throw new UsageError('-operator lists devices; revoke takes a device id', 'devices')
    return revokeCommand(rest, flags, io)
  }
  if (subcommand !== undefined) {
    throw new UsageError(`unknown argument "${subcommand}" (list with no argument, or: devices revoke ID)`, 'devices')
  }
  if (flags.operator === '') throw new UsageError('-operator must name an operator', 'devices')
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = senderOptions(settings, io, 'devices')
  const devices = await withKeySource(settings, () => listDevices({ ...edge, operator: flags.operator }))
  io.stdout(flags.json ? json({ devices }) : devicesTable(devices, flags.operator))
  return EXIT_CODES.ok.code
}

// Flags may come before `revoke` or after it: `devices -json revoke ID`, `devices revoke -json ID`.
async function revokeCommand(
  args: string[],
  before: { 'edge-url'?: string; sender?: string; key?: string[]; config?: string; json?: boolean },
  io: CliIo,
): Promise<ExitCode> {
  const { flags: after, positionals } = parseFlags(args, REVOKE_FLAGS)
  if (after.h || after.help) return help(io, DEVICES_HELP)
  if (positionals.length !== 1) throw new UsageError('give exactly one device id: devices revoke ID', 'devices')
  const [id] = positionals as [string]
  const flags = { ...before, ...after }
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = senderOptions(settings, io, 'devices')
  const device = await withKeySource(settings, () => revokeDevice({ ...edge, id }))
  io.stdout(flags.json ? json({ device }) : revokedText(device))
  return EXIT_CODES.ok.code
}

/**
 * What `invite` prints: the link, when it expires and, with `qr`, the link as a QR code.
 * @example inviteText(invite, Date.now(), { color: process.stdout.hasColors?.() ?? false })
 */
export function inviteText(invite: Invite, now: number, qr: { color: boolean } | undefined): string {
  const operator = shown(invite.operator)
  const lines = [
    `Invite for operator '${operator}' created! It enrols one device, then it is used up.`,
    `link:      ${invite.url}`,
    `expires:   ${invite.expiresAt} (${untilText(Date.parse(invite.expiresAt) - now)})`,
    '',
  ]
  if (qr) lines.push(qrCode(invite.url, qr), '')
  lines.push(
    `Open the link on ${operator}'s phone${qr ? ', or scan the code with its camera,' : ''} and create the passkey there.`,
    `Whoever opens it first enrols a device as ${operator}: hand it over as you would a password.`,
  )
  return `${lines.join('\n')}\n`
}

/**
 * `text` as a QR code of half-block characters, two modules a line, with a quiet zone. Light
 * modules are the glyphs and dark ones the background, which scans on a dark terminal; with
 * `color`, the code is painted white on black so that it scans on a light one too.
 */
export function qrCode(text: string, { color }: { color: boolean }): string {
  const rows = renderUnicodeCompact(text, { border: 2, ecc: 'M' }).split('\n')
  return (color ? rows.map((row) => `\x1b[97;40m${row}\x1b[0m`) : rows).join('\n')
}

/** `devices` as a table: id, operator, name, created, last used, revoked. */
export function devicesTable(devices: readonly Device[], operator: string | undefined): string {
  if (devices.length === 0) {
    return operator === undefined
      ? 'No devices enrolled.\n'
      : `No devices enrolled for operator '${shown(operator)}'.\n`
  }
  const header = ['ID', 'OPERATOR', 'NAME', 'CREATED', 'LAST USED', 'REVOKED']
  const rows = devices.map((d) => [
    shown(d.id),
    shown(d.operator),
    shown(d.name),
    timeText(d.createdAt),
    d.lastUsedAt ? timeText(d.lastUsedAt) : 'never',
    d.revokedAt ? timeText(d.revokedAt) : '-',
  ])
  const table = [header, ...rows]
  const widths = header.map((_, col) => Math.max(...table.map((row) => row[col]!.length)))
  const line = (row: string[]) =>
    row
      .map((cell, col) => (col < row.length - 1 ? cell.padEnd(widths[col]!) : cell))
      .join('  ')
      .trimEnd()
  return `${table.map(line).join('\n')}\n`
}

/** What `devices revoke` prints: what was revoked, one `label: value` line per field. */
export function revokedText(device: Device): string {
  const rows: [string, string][] = [
    ['id', shown(device.id)],
    ['operator', shown(device.operator)],
    ['name', shown(device.name)],
    ['created', device.createdAt],
    ['last used', device.lastUsedAt ?? 'never'],
    ['revoked', device.revokedAt ?? '-'],
  ]
  return (
    `Device '${shown(device.name)}' of operator '${shown(device.operator)}' revoked: its sessions have ended, ` +
    'and the edge refuses anything it signs.\n' +
    rows.map(([label, value]) => `${`${label}:`.padEnd(11)}${value}\n`).join('')
  )
}

/** An RFC 3339 time to the second, `2026-11-24T09:01:02Z`; anything else as it came. */
function timeText(iso: string): string {
  return shown(iso.replace(/\.\d+Z$/, 'Z'))
}

function untilText(ms: number): string {
  if (!Number.isFinite(ms)) return 'expiry unknown'
  if (ms <= 0) return 'already expired: is the clock of this machine or of the edge off?'
  const minutes = Math.max(1, Math.round(ms / 60_000))
  return `in ${minutes} minute${minutes === 1 ? '' : 's'}`
}

/**
 * Text the edge got from someone else (a device's name is typed at enrolment) made safe for a
 * terminal: control characters and bidirectional overrides, which could rewrite what the table
 * shows, become U+FFFD.
 */
function shown(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is replaced
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '\ufffd')
}
