/**
 * Hand-written SVG charts for docs/: grouped horizontal bars and a latency CDF. Plain
 * elements, system fonts, no scripts, so they render the same on GitHub and offline.
 */

const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6']
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"'

const r1 = (value: number) => Math.round(value * 10) / 10
const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const num = (value: number) =>
  Number.isInteger(value)
    ? String(value)
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 10
        ? value.toFixed(1)
        : value.toFixed(2)

/** A round axis maximum at or above `value` (1, 2, 2.5 or 5 times a power of ten). */
function niceMax(value: number): number {
  if (!(value > 0)) return 1
  const power = 10 ** Math.floor(Math.log10(value))
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power
  return 10 * power
}

export interface BarChartOptions {
  title: string
  /** Unit shown after each value and on the axis, e.g. "ms". */
  unit: string
  /** One name per bar within a group (the legend). */
  series: string[]
  groups: { label: string; values: (number | undefined)[]; note?: string }[]
  /** A dashed reference line, e.g. a target or a limit. */
  reference?: { value: number; label: string }
}

/** Grouped horizontal bars, one group per system. */
export function barChart(o: BarChartOptions): string {
  const width = 760
  const labelWidth = 190
  const plotWidth = width - labelWidth - 90
  const barHeight = 16
  const groupGap = 14
  const top = 48 + (o.series.length > 1 ? 18 : 0)
  const groupHeight = o.series.length * (barHeight + 3) + groupGap
  const height = top + o.groups.length * groupHeight + 34
  const values = o.groups.flatMap((g) => g.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))
  const max = niceMax(Math.max(...values, o.reference?.value ?? 0))
  const x = (value: number) => labelWidth + (value / max) * plotWidth
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="600">${esc(o.title)}</text>`,
  ]
  if (o.series.length > 1) {
    o.series.forEach((name, i) => {
      const lx = labelWidth + i * 150
      parts.push(`<rect x="${lx}" y="36" width="10" height="10" fill="${COLORS[i % COLORS.length]}"/>`)
      parts.push(`<text x="${lx + 14}" y="45">${esc(name)}</text>`)
    })
  }
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max * tick) / 4
    const tx = x(value)
    parts.push(`<line x1="${tx}" y1="${top - 4}" x2="${tx}" y2="${height - 28}" stroke="#e5e7eb"/>`)
    parts.push(
      `<text x="${tx}" y="${height - 14}" text-anchor="middle" fill="#4b5563">${num(value)}${tick === 4 ? ` ${esc(o.unit)}` : ''}</text>`,
    )
  }
  o.groups.forEach((group, g) => {
    const gy = top + g * groupHeight
    const middle = gy + (o.series.length * (barHeight + 3)) / 2
    parts.push(`<text x="${labelWidth - 8}" y="${middle + 4}" text-anchor="end">${esc(group.label)}</text>`)
    if (group.note)
      parts.push(
        `<text x="${labelWidth - 8}" y="${middle + 17}" text-anchor="end" fill="#6b7280" font-size="10">${esc(group.note)}</text>`,
      )
    group.values.forEach((value, i) => {
      const y = gy + i * (barHeight + 3)
      if (value === undefined || !Number.isFinite(value)) {
        parts.push(`<text x="${labelWidth + 4}" y="${y + 12}" fill="#6b7280">not measured</text>`)
        return
      }
      parts.push(
        `<rect x="${labelWidth}" y="${y}" width="${r1(Math.max(1, x(value) - labelWidth))}" height="${barHeight}" fill="${COLORS[i % COLORS.length]}"/>`,
      )
      parts.push(`<text x="${r1(x(value) + 4)}" y="${y + 12}">${num(value)} ${esc(o.unit)}</text>`)
    })
  })
  if (o.reference) {
    const rx = x(o.reference.value)
    parts.push(
      `<line x1="${rx}" y1="${top - 6}" x2="${rx}" y2="${height - 28}" stroke="#dc2626" stroke-dasharray="5,4"/>`,
    )
    parts.push(`<text x="${rx + 4}" y="${top - 8}" fill="#dc2626" font-size="11">${esc(o.reference.label)}</text>`)
  }
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}

export interface CdfChartOptions {
  title: string
  xLabel: string
  series: { label: string; values: number[] }[]
}

/** Empirical CDFs on a log x axis (latency tails span decades): y = fraction at or below x. */
export function cdfChart(o: CdfChartOptions): string {
  const width = 760
  const height = 380
  const left = 56
  const right = 20
  const top = 56
  const bottom = 48
  const all = o.series.flatMap((s) => s.values).filter((v) => v > 0)
  const low = 10 ** Math.floor(Math.log10(Math.min(...all, 10)))
  const high = niceMax(Math.max(...all, low * 10))
  const x = (value: number) =>
    left + (Math.log10(Math.max(value, low) / low) / Math.log10(high / low)) * (width - left - right)
  const y = (fraction: number) => height - bottom - fraction * (height - top - bottom)
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="24" font-size="15" font-weight="600">${esc(o.title)}</text>`,
  ]
  for (let decade = low; decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step
      if (value > high) break
      parts.push(
        `<line x1="${r1(x(value))}" y1="${top}" x2="${r1(x(value))}" y2="${height - bottom}" stroke="#e5e7eb"/>`,
      )
      parts.push(
        `<text x="${r1(x(value))}" y="${height - bottom + 16}" text-anchor="middle" fill="#4b5563">${num(value)}</text>`,
      )
    }
  }
  for (const fraction of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    parts.push(`<line x1="${left}" y1="${y(fraction)}" x2="${width - right}" y2="${y(fraction)}" stroke="#e5e7eb"/>`)
    parts.push(
      `<text x="${left - 6}" y="${y(fraction) + 4}" text-anchor="end" fill="#4b5563">${Math.round(fraction * 100)}%</text>`,
    )
  }
  parts.push(
    `<text x="${(left + width - right) / 2}" y="${height - 10}" text-anchor="middle">${esc(o.xLabel)} (log scale)</text>`,
  )
  o.series.forEach((series, i) => {
    const color = COLORS[i % COLORS.length]
    const sorted = [...series.values].sort((a, b) => a - b)
    const points = sorted.map((value, k) => `${x(value).toFixed(1)},${y((k + 1) / sorted.length).toFixed(1)}`)
    if (points.length)
      parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2" points="${x(sorted[0]!).toFixed(1)},${y(0)} ${points.join(' ')}"/>`,
      )
    const lx = left + i * 230
    parts.push(`<rect x="${lx}" y="36" width="10" height="10" fill="${color}"/>`)
    parts.push(`<text x="${lx + 14}" y="45">${esc(series.label)}</text>`)
  })
  parts.push('</svg>')
  return `${parts.join('\n')}\n`
}
