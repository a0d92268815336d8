/** `serf-edge members`: `serf members` from anywhere, from the members the bridge last reported. */

import { parseFlags, UsageError } from '../protocol/flags.ts'
import type { Member, MembersSnapshot } from '../protocol/query.ts'
import { type CliIo, edgeOptions, HELP_FLAGS, help, withKeySource } from './cli-common.ts'
import { EDGE_FLAGS, resolveEdgeSettings } from './cli-config.ts'
import { parseTagFlags } from './cli-query.ts'
import { EXIT_CODES, type ExitCode, MEMBERS_HELP } from './cli-text.ts'
import { members } from './queries.ts'

const MEMBERS_FLAGS = {
  ...HELP_FLAGS,
  ...EDGE_FLAGS,
  name: 'string',
  status: 'string',
  tag: 'list',
  format: 'string',
} as const

/** Run `serf-edge members` with `args`. */
export async function membersCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, MEMBERS_FLAGS)
  if (flags.h || flags.help) return help(io, MEMBERS_HELP)
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'members')
  const format = flags.format ?? 'text'
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`-format must be text or json, not "${format}"`, 'members')
  }
  const filter = memberFilter({
    name: flags.name,
    status: flags.status,
    tags: parseTagFlags(flags.tag ?? [], 'members'),
  })
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = edgeOptions(settings, io, 'members')
  const snapshot = await withKeySource(settings, () => members(edge))
  const shown = snapshot.members.filter(filter)
  io.stderr(`Members as of ${formatAge(snapshot.ageMs)} ago (${snapshot.asOf}), from bridge "${snapshot.bridgeId}"\n`)
  io.stdout(format === 'json' ? membersJson(snapshot, shown) : membersText(shown))
  return EXIT_CODES.ok.code
}

/**
 * The filter of `-name`, `-status` and `-tag`, each regexp anchored at both ends as
 * `serf members` anchors them. A member without the tag has it empty.
 * @throws {UsageError} for a regexp that does not compile
 */
export function memberFilter(options: { name?: string; status?: string; tags: Record<string, string> }) {
  const anchored = (flag: string, expr: string) => {
    try {
      return new RegExp(`^(?:${expr})$`)
    } catch (error) {
      throw new UsageError(
        `-${flag}: "${expr}" is not a valid regular expression (${(error as Error).message})`,
        'members',
      )
    }
  }
  const name = options.name === undefined ? undefined : anchored('name', options.name)
  const status = options.status === undefined ? undefined : anchored('status', options.status)
  const tags = Object.entries(options.tags).map(([tag, expr]) => [tag, anchored('tag', expr)] as const)
  return (member: Member): boolean =>
    (!name || name.test(member.name)) &&
    (!status || status.test(member.status)) &&
    tags.every(([tag, expr]) => expr.test(member.tags[tag] ?? ''))
}

/** `serf members`' columns: name, addr:port, status, tags as k=v joined by commas (sorted here). */
export function membersText(list: Member[]): string {
  const rows = list.map((m) => [m.name, hostPort(m), m.status, tagsText(m.tags)])
  const widths = [0, 1, 2].map((col) => Math.max(0, ...rows.map((row) => row[col]!.length)))
  return `${rows.map((row) => row.map((cell, col) => (col < 3 ? cell.padEnd(widths[col]!) : cell)).join('  ')).join('\n')}\n`
}

/** `serf members -format=json`, each member's `addr` as `ip:port`, with the report's age and origin. */
function membersJson(snapshot: MembersSnapshot, list: Member[]): string {
  const shown = list.map((m) => ({ name: m.name, addr: hostPort(m), port: m.port, tags: m.tags, status: m.status }))
  const { asOf, ageMs, bridgeId } = snapshot
  return `${JSON.stringify({ members: shown, asOf, ageMs, bridgeId }, null, 2)}\n`
}

// Go's net.TCPAddr brackets an IPv6 address.
const hostPort = (m: Member): string => (m.addr.includes(':') ? `[${m.addr}]:${m.port}` : `${m.addr}:${m.port}`)

const tagsText = (tags: Record<string, string>): string =>
  Object.keys(tags)
    .sort()
    .map((key) => `${key}=${tags[key]}`)
    .join(',')

/** An age as `12s`, `3m4s` or `2h5m`. */
export function formatAge(ms: number): string {
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds}s`
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${seconds % 60}s`
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`
}
