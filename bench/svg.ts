/**
 * Hand-written SVG charts for docs/: grouped horizontal bars and a latency CDF. Plain
 * elements, system fonts, no scripts, so they render the same on GitHub and offline. (vega-lite
 * also renders SVG in Node without a browser, but brings about 80 packages for these two charts.)
 */

const COLORS = ['#2563eb', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6']
const WIDTH = 760
const GRID = '#e5e7eb'
const AXIS_TEXT = '#4b5563'
const NOTE_TEXT = '#6b7280'
const REFERENCE = '#dc2626'

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

/**
 * Grouped horizontal bars, one group per system; bar lengths are proportional to the values on
 * an axis from 0 to a round maximum. A missing or non-finite value reads "not measured".
 * @example barChart({ title: 'Latency', unit: 'ms', series: ['median'], groups: [{ label: 'A', values: [12] }] })
 */
export function barChart(o: BarChartOptions): string {
  const labelWidth = 190
  const plotWidth = WIDTH - labelWidth - 90
  const barHeight = 16
  const barStep = barHeight + 3
  const top = 48 + (o.series.length > 1 ? 18 : 0)
  const groupHeight = o.series.length * barStep + 14
  const height = top + o.groups.length * groupHeight + 34
  const values = o.groups.flatMap((g) => g.values.filter(isMeasured))
  const max = niceMax(Math.max(...values, o.reference?.value ?? 0))
  const x = (value: number) => labelWidth + (value / max) * plotWidth
  const parts: string[] = []
  if (o.series.length > 1) {
    o.series.forEach((name, i) => {
      const lx = labelWidth + i * 150
      parts.push(el('rect', { x: lx, y: 36, width: 10, height: 10, fill: color(i) }))
      parts.push(el('text', { x: lx + 14, y: 45 }, name))
    })
  }
  for (let tick = 0; tick <= 4; tick++) {
    const value = (max * tick) / 4
    const label = `${num(value)}${tick === 4 ? ` ${o.unit}` : ''}`
    parts.push(el('line', { x1: x(value), y1: top - 4, x2: x(value), y2: height - 28, stroke: GRID }))
    parts.push(el('text', { x: x(value), y: height - 14, 'text-anchor': 'middle', fill: AXIS_TEXT }, label))
  }
  o.groups.forEach((group, g) => {
    const gy = top + g * groupHeight
    const middle = gy + (o.series.length * barStep) / 2
    parts.push(el('text', { x: labelWidth - 8, y: middle + 4, 'text-anchor': 'end' }, group.label))
    if (group.note) {
      const at = { x: labelWidth - 8, y: middle + 17, 'text-anchor': 'end', fill: NOTE_TEXT, 'font-size': 10 }
      parts.push(el('text', at, group.note))
    }
    group.values.forEach((value, i) => {
      const y = gy + i * barStep
      if (!isMeasured(value)) {
        parts.push(el('text', { x: labelWidth + 4, y: y + 12, fill: NOTE_TEXT }, 'not measured'))
        return
      }
      const length = r1(Math.max(1, x(value) - labelWidth))
      parts.push(el('rect', { x: labelWidth, y, width: length, height: barHeight, fill: color(i) }))
      parts.push(el('text', { x: r1(x(value) + 4), y: y + 12 }, `${num(value)} ${o.unit}`))
    })
  })
  if (o.reference) {
    const rx = x(o.reference.value)
    const dashes = { stroke: REFERENCE, 'stroke-dasharray': '5,4' }
    parts.push(el('line', { x1: rx, y1: top - 6, x2: rx, y2: height - 28, ...dashes }))
    parts.push(el('text', { x: rx + 4, y: top - 8, fill: REFERENCE, 'font-size': 11 }, o.reference.label))
  }
  return svgDocument(WIDTH, height, o.title, parts)
}

export interface CdfChartOptions {
  title: string
  xLabel: string
  series: { label: string; values: number[] }[]
}

/**
 * Empirical CDFs on a log x axis (latency tails span decades): y = fraction at or below x.
 * Values at or below 0 sit on the axis's left end.
 * @example cdfChart({ title: 'Latency', xLabel: 'ms', series: [{ label: 'A', values: [12, 15, 40] }] })
 */
export function cdfChart(o: CdfChartOptions): string {
  const height = 380
  const left = 56
  const right = 20
  const top = 56
  const bottom = 48
  const all = o.series.flatMap((s) => s.values).filter((v) => v > 0)
  const low = 10 ** Math.floor(Math.log10(Math.min(...all, 10)))
  const high = niceMax(Math.max(...all, low * 10))
  const x = (value: number) =>
    left + (Math.log10(Math.max(value, low) / low) / Math.log10(high / low)) * (WIDTH - left - right)
  const y = (fraction: number) => height - bottom - fraction * (height - top - bottom)
  const parts: string[] = []
  for (let decade = low; decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step
      if (value > high) break
      const at = r1(x(value))
      parts.push(el('line', { x1: at, y1: top, x2: at, y2: height - bottom, stroke: GRID }))
      parts.push(el('text', { x: at, y: height - bottom + 16, 'text-anchor': 'middle', fill: AXIS_TEXT }, num(value)))
    }
  }
  for (const fraction of [0, 0.25, 0.5, 0.75, 0.9, 1]) {
    const label = `${Math.round(fraction * 100)}%`
    parts.push(el('line', { x1: left, y1: y(fraction), x2: WIDTH - right, y2: y(fraction), stroke: GRID }))
    parts.push(el('text', { x: left - 6, y: y(fraction) + 4, 'text-anchor': 'end', fill: AXIS_TEXT }, label))
  }
  const axisLabel = `${o.xLabel} (log scale)`
  parts.push(el('text', { x: (left + WIDTH - right) / 2, y: height - 10, 'text-anchor': 'middle' }, axisLabel))
  o.series.forEach((series, i) => {
    const sorted = [...series.values].sort((a, b) => a - b)
    const steps = sorted.map((value, k) => `${x(value).toFixed(1)},${y((k + 1) / sorted.length).toFixed(1)}`)
    if (steps.length) {
      const points = `${x(sorted[0]!).toFixed(1)},${y(0)} ${steps.join(' ')}`
      parts.push(el('polyline', { fill: 'none', stroke: color(i), 'stroke-width': 2, points }))
    }
    const lx = left + i * 230
    parts.push(el('rect', { x: lx, y: 36, width: 10, height: 10, fill: color(i) }))
    parts.push(el('text', { x: lx + 14, y: 45 }, series.label))
  })
  return svgDocument(WIDTH, height, o.title, parts)
}

type Attributes = Record<string, string | number>

/** The chart's frame: size, fonts, a white background and the title, around `body`. */
function svgDocument(width: number, height: number, title: string, body: string[]): string {
  const svg = {
    xmlns: 'http://www.w3.org/2000/svg',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    'font-family': 'system-ui, -apple-system, Segoe UI, sans-serif',
    'font-size': 12,
  }
  const lines = [
    `<svg${attributes(svg)}>`,
    el('rect', { width: '100%', height: '100%', fill: '#ffffff' }),
    el('text', { x: 12, y: 24, 'font-size': 15, 'font-weight': 600 }, title),
    ...body,
    '</svg>',
  ]
  return `${lines.join('\n')}\n`
}

/** One element, empty or with text; values and text are escaped, so labels may hold `<`, `&` or `"`. */
function el(tag: string, attrs: Attributes, text?: string): string {
  return text === undefined ? `<${tag}${attributes(attrs)}/>` : `<${tag}${attributes(attrs)}>${esc(text)}</${tag}>`
}

const attributes = (attrs: Attributes) =>
  Object.entries(attrs)
    .map(([name, value]) => ` ${name}="${esc(String(value))}"`)
    .join('')
const esc = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const color = (i: number) => COLORS[i % COLORS.length]!
const isMeasured = (value: number | undefined): value is number => value !== undefined && Number.isFinite(value)
const r1 = (value: number) => Math.round(value * 10) / 10
/** An axis or bar value: whole numbers as they are, else 0–2 decimals by magnitude. */
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
