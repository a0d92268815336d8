/**
 * What a chat user typed after `/serf`: `help`, `status <id>`, or `<event> [payload]` with
 * `-cluster=NAME` and `-coalesce=false` before the name or after the payload.
 */

/** A parsed command, or what is wrong with it. */
export type ChatCommand =
  | { kind: 'help' }
  | { kind: 'status'; id: string; cluster?: string }
  | { kind: 'fire'; name: string; payload: string; cluster?: string; coalesce: boolean }
  | { kind: 'invalid'; reason: string }

const FLAG = /^--?(cluster|coalesce)(?:=(.*))?$/

/**
 * Parse the text of a slash command. The payload is the text between the name and any trailing
 * flags, its inner spacing kept; a word that only looks like a flag inside it stays payload.
 * @example parseCommand('deploy v1.4.2 -cluster=prod') // fire deploy "v1.4.2" on prod
 */
export function parseCommand(text: string): ChatCommand {
  const words = [...text.matchAll(/\S+/g)].map((m) => ({ word: m[0], start: m.index, end: m.index + m[0].length }))
  const flags: Record<string, string> = {}
  const take = (word: string): boolean => {
    const match = FLAG.exec(word)
    if (!match) return false
    flags[match[1]!] = match[2] ?? 'true'
    return true
  }
  let first = 0
  while (first < words.length && take(words[first]!.word)) first++
  let last = words.length
  while (last > first + 1 && take(words[last - 1]!.word)) last--
  if (first >= last) return words.length === 0 ? { kind: 'help' } : { kind: 'invalid', reason: 'no event name given' }
  const name = words[first]!.word
  const payload = last > first + 1 ? text.slice(words[first + 1]!.start, words[last - 1]!.end) : ''
  const cluster = flags.cluster
  if (cluster === '') return { kind: 'invalid', reason: '-cluster needs a cluster name' }
  if (name === 'help' && payload === '') return { kind: 'help' }
  if (name === 'status') {
    if (payload === '' || /\s/.test(payload)) return { kind: 'invalid', reason: 'status takes one event id' }
    return { kind: 'status', id: payload, ...(cluster ? { cluster } : {}) }
  }
  const coalesce = flags.coalesce ?? 'true'
  if (coalesce !== 'true' && coalesce !== 'false') {
    return { kind: 'invalid', reason: `-coalesce takes true or false, not "${coalesce}"` }
  }
  return { kind: 'fire', name, payload, coalesce: coalesce === 'true', ...(cluster ? { cluster } : {}) }
}
