/**
 * What `npm start` prints: one line per thing that happened, prefixed with where it happened
 * (`edge │`, `bridge │`, …), coloured on a terminal. The children's own output is translated
 * here: the bridge's JSON log lines become a message and its fields, wrangler's and Serf's
 * routine chatter is left out.
 */
import { styleText } from 'node:util'
import type { RecordedUserEvent } from '../harness/recorder.ts'

/** Where a line comes from. */
export type Source = 'dev' | 'keys' | 'edge' | 'serf' | 'bridge' | 'event'
export type Tone = 'info' | 'warn' | 'error'

/** A child's line as shown, or `undefined` to leave it out. */
export type Shown = { text: string; tone: Tone } | undefined

type Style = Parameters<typeof styleText>[0]
const SOURCE_STYLE: Record<Source, Style> = {
  dev: 'bold',
  keys: 'magenta',
  edge: 'cyan',
  serf: 'yellow',
  bridge: 'blue',
  event: 'green',
}
const TONE_STYLE: Record<Tone, Style | undefined> = {
  info: undefined,
  warn: 'yellow',
  error: 'red',
}

export class DevConsole {
  readonly #out: NodeJS.WriteStream

  constructor(out: NodeJS.WriteStream = process.stdout) {
    this.#out = out
  }

  line(source: Source, text: string, tone: Tone = 'info'): void {
    const prefix = this.style(SOURCE_STYLE[source], `${source.padEnd(6)} │`)
    const style = TONE_STYLE[tone]
    const marked = tone === 'info' ? text : `${tone.toUpperCase()} ${text}`
    this.#out.write(`${prefix} ${style ? this.style(style, marked) : marked}\n`)
  }

  /** A child's line through one of the translators below. */
  shown(source: Source, shown: Shown): void {
    if (shown) this.line(source, shown.text, shown.tone)
  }

  /** Unprefixed lines: the ready message. */
  block(lines: string[]): void {
    this.#out.write(`${lines.join('\n')}\n`)
  }

  /** Whether the output is a terminal that takes colour. */
  get color(): boolean {
    return this.#out.isTTY === true && this.#out.hasColors()
  }

  /** `text` styled when the output is a terminal that takes colour, else as is. */
  style(format: Style, text: string): string {
    return styleText(format, text, { stream: this.#out })
  }
}

const BRIDGE_HIDDEN = new Set('level time pid hostname service cluster bridgeId msg'.split(' '))
const EDGE_HIDDEN = new Set(['level', 'msg'])

/**
 * A pino JSON line of agent-bridge as `message  key=value …`, without the fields every line has.
 * @example bridgeLine('{"level":30,"msg":"batch emitted into Serf","from":1,"through":1}')
 * // → { text: 'batch emitted into Serf  from=1  through=1', tone: 'info' }
 */
export function bridgeLine(raw: string): Shown {
  return jsonLogLine(raw, BRIDGE_HIDDEN)
}

function jsonLogLine(raw: string, hidden: Set<string>): Shown {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(raw) as Record<string, unknown>
  } catch {
    return { text: raw, tone: 'info' }
  }
  const fields = Object.entries(entry)
    .filter(([key, value]) => !hidden.has(key) && value !== null && value !== undefined)
    .map(([key, value]) => `${key}=${fieldText(value)}`)
  // pino writes numbers (40 warn, 50 error), the edge writes names.
  const level =
    typeof entry.level === 'number'
      ? entry.level
      : (({ warn: 40, error: 50 } as Record<string, number>)[String(entry.level)] ?? 30)
  const tone: Tone = level >= 50 ? 'error' : level >= 40 ? 'warn' : 'info'
  return { text: [String(entry.msg ?? ''), ...fields].join('  '), tone }
}

function fieldText(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)
  if (value instanceof Object && 'message' in value) return JSON.stringify(String(value.message))
  return JSON.stringify(value)
}

// The readiness probe, and the bridge's polls and acks that went well: one every 25 s at rest.
const WRANGLER_QUIET = [
  /^GET \/ 200 /,
  /^POST \/v1\/clusters\/[^/]+\/bridge\/(poll|ack|release) 2\d\d /,
  /^⛅️ wrangler /,
  /^─+$/,
]

/**
 * A line of `wrangler dev`, without its `[wrangler:info]` tag; routine requests left out, the
 * Worker's own JSON log lines as `message  key=value …`.
 */
export function wranglerLine(raw: string): Shown {
  const line = raw.trim()
  if (line === '') return undefined
  if (line.startsWith('{')) return jsonLogLine(line, EDGE_HIDDEN)
  const tagged = /^\[wrangler:(\w+)\] (.*)$/.exec(line)
  const text = tagged ? tagged[2]! : line
  if (WRANGLER_QUIET.some((pattern) => pattern.test(text))) return undefined
  const tag = tagged?.[1]
  const tone: Tone = tag === 'error' || /^✘/.test(text) ? 'error' : tag === 'warn' || /^▲/.test(text) ? 'warn' : 'info'
  return { text, tone }
}

// The banner, and what a lone node stopped with SIGTERM (to keep its Lamport clocks in the
// snapshot) says at stop and at the next start.
const SERF_ROUTINE = [
  'Starting Serf agent...',
  'Starting Serf agent RPC...',
  'Serf agent running!',
  'Log data will now stream in as it occurs:',
  'Caught signal: terminated',
  'serf: Shutdown without a Leave',
  'serf: Failed to re-join any previously known node',
]

/** A line of `serf agent`: its warnings and errors; the banner and routine lines left out. */
export function serfAgentLine(raw: string): Shown {
  const logged = /\[(WARN|ERR)\] (.*)$/.exec(raw)
  if (logged && SERF_ROUTINE.includes(logged[2]!)) return undefined
  if (logged) return { text: logged[2]!, tone: logged[1] === 'ERR' ? 'error' : 'warn' }
  const banner = /^==> (.*)$/.exec(raw.trim())
  if (banner && !SERF_ROUTINE.includes(banner[1]!)) return { text: banner[1]!, tone: 'info' }
  return undefined
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * A user event the development handler recorded, as a sentence. The newline Serf ends every
 * non-empty payload with on the handler's stdin is not shown.
 */
export function userEventLine(event: RecordedUserEvent): string {
  return `received user event ${JSON.stringify(event.name)}, ${shownPayload(event.payload)}, Lamport time ${event.ltime}`
}

function shownPayload(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'no payload'
  try {
    const text = strictUtf8.decode(bytes)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a payload with control characters is shown as bytes
    if (!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text)) return `payload ${JSON.stringify(text)}`
  } catch {
    // not text
  }
  return `payload of ${bytes.length} bytes (base64 ${Buffer.from(bytes).toString('base64')})`
}
