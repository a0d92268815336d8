/**
 * Text for chat platforms, shared by the doors' answers and the queue's follow-ups: how much one
 * message may hold, and a list fitted into one message with a note on what was left out.
 */

/**
 * Characters one message may hold: Discord refuses `content` over 2,000; Slack takes far more
 * text, but a Block Kit section holds 3,000 and longer messages read badly.
 */
export const CHAT_TEXT_LIMIT = { slack: 3000, discord: 2000 } as const

/**
 * `text` cut to at most `max` characters (UTF-16 units, as the platforms count), an ellipsis last.
 * @example clip('up 3 days', 5) // 'up 3…'
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text
  let cut = ''
  for (const char of text) {
    if (cut.length + char.length > max - 1) break
    cut += char
  }
  return `${cut}…`
}

/**
 * `head`, then as many of `lines` as fit under `limit`, one per line; when some do not fit,
 * `more(count)` says how many were left out.
 * @example fitLines('Members:', ['• a', '• b', '• c'], 24, (n) => `… ${n} more`) // 'Members:\n• a\n… 2 more'
 */
export function fitLines(head: string, lines: string[], limit: number, more: (left: number) => string): string {
  const reserve = 1 + more(lines.length).length
  let text = clip(head, lines.length > 0 ? limit - reserve : limit)
  for (const [index, line] of lines.entries()) {
    const last = index === lines.length - 1
    if (text.length + 1 + line.length + (last ? 0 : reserve) > limit) return `${text}\n${more(lines.length - index)}`
    text += `\n${line}`
  }
  return text
}
