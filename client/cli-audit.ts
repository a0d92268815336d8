/** `serf-edge audit`: print a cluster's audit trail, every page of it, oldest first. */
import type { AuditRecord } from '../protocol/audit.ts'
import { DurationError, parseDuration } from '../protocol/duration.ts'
import { parseFlags, UsageError } from '../protocol/flags.ts'
import { type CliIo, edgeOptions, HELP_FLAGS, help, withKeySource } from './cli-common.ts'
import { EDGE_FLAGS, resolveEdgeSettings } from './cli-config.ts'
import { AUDIT_HELP, EXIT_CODES, type ExitCode, json } from './cli-text.ts'
import { readAudit } from './sdk.ts'

const AUDIT_FLAGS = { ...HELP_FLAGS, ...EDGE_FLAGS, since: 'string', principal: 'string', format: 'string' } as const

/** Run `serf-edge audit` with `args`. */
export async function auditCommand(args: string[], io: CliIo): Promise<ExitCode> {
  const { flags, positionals } = parseFlags(args, AUDIT_FLAGS)
  if (flags.h || flags.help) return help(io, AUDIT_HELP)
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'audit')
  const format = flags.format ?? 'text'
  if (format !== 'text' && format !== 'json') {
    throw new UsageError(`-format must be text or json, not "${format}"`, 'audit')
  }
  const since = flags.since === undefined ? undefined : parseSince(flags.since, Date.now())
  const settings = await resolveEdgeSettings(flags, io.env)
  const edge = edgeOptions(settings, io, 'audit')
  await withKeySource(settings, async () => {
    let after: number | undefined
    do {
      const page = await readAudit({ ...edge, since, principal: flags.principal, after, limit: 500 })
      for (const record of page.records) io.stdout(format === 'json' ? json(record) : auditLine(record))
      after = page.next
    } while (after !== undefined)
  })
  return EXIT_CODES.ok.code
}

/** `-since`: a duration back from `now`, or an RFC 3339 time. */
export function parseSince(text: string, now: number): Date {
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text)
    if (!Number.isNaN(at)) return new Date(at)
    throw new UsageError(`-since: "${text}" is not an RFC 3339 time`, 'audit')
  }
  try {
    return new Date(now - parseDuration(text))
  } catch (error) {
    if (!(error instanceof DurationError)) throw error
    throw new UsageError(`-since takes a duration (1h, 2d) or an RFC 3339 time, not "${text}"`, 'audit')
  }
}

/** One attempt on one line: when, door, who, what, decision, then the event or the reason. */
export function auditLine(record: AuditRecord): string {
  const outcome =
    record.decision === 'refused'
      ? (record.reason ?? '')
      : `${record.eventId ?? ''} ${record.status ?? ''}${record.error ? ` (${record.error})` : ''}`
  const where = record.channel ? `${record.principal} in ${record.channel}` : record.principal
  const name = JSON.stringify(record.name ?? '')
  return `${record.at}  ${record.door}  ${where}  ${name}  ${record.decision}  ${outcome.trim()}\n`
}
