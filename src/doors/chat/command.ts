/**
 * What a chat user typed after `/serf`: `help`, `status <id>`, `query <name> [payload]`,
 * `members`, or `<event> [payload]`. Flags go before the command word or after the payload;
 * each command takes its own (`-cluster=NAME` all of them), so an event's payload keeps a word
 * such as `-node=x` as text.
 */
import { DurationError, parseDuration } from '../../../protocol/duration.ts'

/** A parsed command, or what is wrong with it. */
export type ChatCommand =
  | { kind: 'help' }
  | { kind: 'status'; id: string; cluster?: string }
  | { kind: 'fire'; name: string; payload: string; cluster?: string; coalesce: boolean }
  | {
      kind: 'query'
      name: string
      payload: string
      cluster?: string
      /** Only these nodes answer (`-node=NAME`, repeatable). */
      nodes: string[]
      /** Only nodes whose tag matches answer (`-tag=KEY=REGEX`, repeatable). */
      tags: Record<string, string>
      timeoutMs?: number
    }
  | {
      kind: 'members'
      cluster?: string
      /** A regexp the whole status must match, as `serf members -status` reads it. */
      status?: string
    }
  | { kind: 'invalid'; reason: string }

/** The flags of each command; `fire` serves `help` and `status` too. */
const FLAGS = {
  fire: ['cluster', 'coalesce'],
  query: ['cluster', 'node', 'tag', 'timeout'],
  members: ['cluster', 'status'],
} as const
const ANY_FLAG = [...new Set(Object.values(FLAGS).flat())]

const FLAG = /^--?([a-z]+)(?:=(.*))?$/

type Word = { word: string; start: number; end: number }
type Flag = { name: string; value: string | undefined }

const flagOf = (word: string, known: readonly string[]): Flag | undefined => {
  const match = FLAG.exec(word)
  return match && known.includes(match[1]!) ? { name: match[1]!, value: match[2] } : undefined
}

/**
 * Parse the text of a slash command. The payload is the text between the name and any trailing
 * flags, its inner spacing kept; a word that only looks like a flag inside it stays payload.
 * @example parseCommand('deploy v1.4.2 -cluster=prod') // fire deploy "v1.4.2" on prod
 * @example parseCommand('query uptime -tag=role=^web$ -timeout=5s') // ask uptime of the web nodes
 */
export function parseCommand(text: string): ChatCommand {
  const words = [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }))
  // The command word, the first that is no command's flag, says which words are flags.
  const verb = words.find((w) => !flagOf(w.word, ANY_FLAG))?.word
  if (verb === 'query') return parseQuery(text, words)
  if (verb === 'members') return parseMembers(words)
  return parseEvent(text, words)
}

function parseEvent(text: string, words: Word[]): ChatCommand {
  const { flags, middle } = split(words, FLAGS.fire, 1)
  if (middle.length === 0) return words.length === 0 ? { kind: 'help' } : invalid('no event name given')
  const name = middle[0]!.word
  const payload = textOf(text, middle.slice(1))
  const cluster = lastOf(flags, 'cluster')
  if (cluster === '') return invalid('-cluster needs a cluster name')
  const where = cluster ? { cluster } : {}
  if (name === 'help' && payload === '') return { kind: 'help' }
  if (name === 'status') {
    if (payload === '' || /\s/.test(payload)) return invalid('status takes one event id')
    return { kind: 'status', id: payload, ...where }
  }
  const coalesce = lastOf(flags, 'coalesce') ?? 'true'
  if (coalesce !== 'true' && coalesce !== 'false') return invalid(`-coalesce takes true or false, not "${coalesce}"`)
  return { kind: 'fire', name, payload, coalesce: coalesce === 'true', ...where }
}

function parseQuery(text: string, words: Word[]): ChatCommand {
  const { flags, middle } = split(words, FLAGS.query, 2)
  if (middle[0]?.word !== 'query') return invalid(`${middle[0]?.word} is not a flag of \`query\``)
  const name = middle[1]?.word
  if (name === undefined) return invalid('query takes a name, e.g. `/serf query uptime`')
  if (flagOf(name, FLAGS.query)) {
    if (middle.length === 2) return invalid('query takes a name, e.g. `/serf query uptime`')
    return invalid(`put ${name} after the query's name and payload`)
  }
  const cluster = lastOf(flags, 'cluster')
  const timeout = lastOf(flags, 'timeout')
  const nodes: string[] = []
  const tags: Record<string, string> = {}
  for (const flag of flags) {
    if (flag.name === 'cluster' && !flag.value) return invalid('-cluster needs a cluster name')
    if (flag.name === 'timeout' && !flag.value) return invalid('-timeout needs a duration, e.g. -timeout=5s')
    if (flag.name === 'node') {
      if (!flag.value) return invalid('-node needs a node name: -node=NAME')
      nodes.push(flag.value)
    }
    if (flag.name === 'tag') {
      const eq = flag.value?.indexOf('=') ?? -1
      if (eq <= 0) return invalid(`-tag takes KEY=REGEX, e.g. -tag=role=^web$, not "${flag.value ?? ''}"`)
      const key = flag.value!.slice(0, eq)
      if (key in tags) return invalid(`-tag ${key} is given twice`)
      tags[key] = flag.value!.slice(eq + 1)
    }
  }
  let timeoutMs: number | undefined
  if (timeout !== undefined) {
    try {
      timeoutMs = parseDuration(timeout)
    } catch (error) {
      if (error instanceof DurationError) return invalid(`-timeout: ${error.message}`)
      throw error
    }
  }
  return {
    kind: 'query',
    name,
    payload: textOf(text, middle.slice(2)),
    nodes,
    tags,
    ...(cluster ? { cluster } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  }
}

function parseMembers(words: Word[]): ChatCommand {
  const { flags, middle } = split(words, FLAGS.members, 1)
  if (middle[0]?.word !== 'members') return invalid(`${middle[0]?.word} is not a flag of \`members\``)
  if (middle.length > 1) return invalid('members takes only flags: -cluster=NAME, -status=REGEX')
  const cluster = lastOf(flags, 'cluster')
  const status = lastOf(flags, 'status')
  if (cluster === '') return invalid('-cluster needs a cluster name')
  if (status === '') return invalid('-status needs a status, e.g. -status=alive')
  return { kind: 'members', ...(cluster ? { cluster } : {}), ...(status ? { status } : {}) }
}

/**
 * Flags of `known` from the front and the back of `words`, in the order typed, keeping at least
 * `keep` words between.
 */
function split(words: Word[], known: readonly string[], keep: number): { flags: Flag[]; middle: Word[] } {
  const isFlag = (word: Word | undefined) => word !== undefined && flagOf(word.word, known) !== undefined
  let first = 0
  while (first < words.length && isFlag(words[first])) first++
  let last = words.length
  while (last > first + keep && isFlag(words[last - 1])) last--
  const flags = [...words.slice(0, first), ...words.slice(last)].map((w) => flagOf(w.word, known)!)
  return { flags, middle: words.slice(first, last) }
}

/** The text spanning `words`, its inner spacing kept; empty for none. */
const textOf = (text: string, words: Word[]): string =>
  words.length === 0 ? '' : text.slice(words[0]!.start, words.at(-1)!.end)

/** The value of flag `name` as last taken (a flag without `=` reads as "true"), if any. */
const lastOf = (flags: Flag[], name: string): string | undefined => {
  const flag = flags.findLast((f) => f.name === name)
  return flag && (flag.value ?? 'true')
}

const invalid = (reason: string): ChatCommand => ({ kind: 'invalid', reason })
