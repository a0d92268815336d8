/** Durations as operators write them in config and flags: `500ms`, `30s`, `15m`, `2h`, `7d`. */

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Thrown for text that is not a duration. */
export class DurationError extends Error {
  override name = 'DurationError'
}

/**
 * Parse a duration into milliseconds. Units: ms, s, m, h, d; several may follow each other
 * (`1h30m`). A bare number is not accepted: `60` could mean seconds or milliseconds.
 * @example parseDuration('15m') // 900000
 * @throws {DurationError}
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim()
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y
  let total = 0
  let index = 0
  while (index < trimmed.length) {
    part.lastIndex = index
    const match = part.exec(trimmed)
    if (!match) break
    total += Number(match[1]) * UNITS[match[2]!]!
    index = part.lastIndex
  }
  if (trimmed.length === 0 || index !== trimmed.length) {
    throw new DurationError(`"${text}" is not a duration (examples: 500ms, 30s, 15m, 2h, 7d)`)
  }
  return Math.round(total)
}

/** Format milliseconds the way {@link parseDuration} reads them, largest unit that divides. */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms >= UNITS[unit]! && ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`
  }
  return `${ms}ms`
}
