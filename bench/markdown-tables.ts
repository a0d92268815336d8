/**
 * Generated Markdown laid out the way Biome formats it, so a report passes `npm run lint` as
 * written: one blank line between blocks, and table cells padded to their column's width.
 */

/**
 * Pads every table (consecutive lines starting with `|`, the second being the delimiter row) and
 * collapses runs of blank lines into one.
 * @example alignTables('| a | bb |\n|---|---|\n| ccc | d |\n') === '| a   | bb  |\n| --- | --- |\n| ccc | d   |\n'
 */
export function alignTables(markdown: string): string {
  const lines = markdown.replace(/\n{3,}/g, '\n\n').split('\n')
  const out: string[] = []
  let i = 0
  while (i < lines.length) {
    const start = i
    while (i < lines.length && lines[i]!.startsWith('|')) i++
    if (i > start) out.push(...alignTable(lines.slice(start, i)))
    else out.push(lines[i++]!)
  }
  return out.join('\n')
}

/** A row's cells, trimmed: split at every `|` but an escaped `\|`, as GitHub's tables are. */
function cells(row: string): string[] {
  const inner = row
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
  return inner.split(/(?<!\\)\|/).map((cell) => cell.trim())
}

/** Columns are as wide as their widest cell in characters, at least 3 (the delimiter's `---`). */
function alignTable(rows: string[]): string[] {
  const table = rows.map(cells)
  const columns = table[0]!.length
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(3, ...table.filter((_, r) => r !== 1).map((row) => width(row[c] ?? ''))),
  )
  return table.map((row, r) => {
    const padded = widths.map((w, c) => (r === 1 ? '-'.repeat(w) : pad(row[c] ?? '', w)))
    return `| ${padded.join(' | ')} |`
  })
}

// Code points, which is how Biome counts the characters these reports use (→, ≤, −, ×, —); it
// counts East Asian wide characters and emoji as two columns, which the reports do not contain.
const width = (text: string) => [...text].length
const pad = (text: string, w: number) => text + ' '.repeat(w - width(text))
