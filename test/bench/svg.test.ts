import { describe, expect, it } from 'vitest'
import { barChart, cdfChart } from '../../bench/svg.ts'

interface Element {
  tag: string
  attrs: Record<string, string>
  text: string
}

const ENTITY = '&(?:amp|lt|gt|quot);'
const ATTRIBUTE = `\\s+[a-zA-Z][\\w:-]*="[^"<&]*(?:${ENTITY}[^"<&]*)*"`
const decodeEntities = (text: string) =>
  text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')

/**
 * The elements of `svg` in document order. Reads the strict subset the charts write (elements,
 * double-quoted attributes, text with entities) and throws on anything else, on a raw `<` or
 * `&` in text or attributes, and on unbalanced tags: so a chart that parses is well-formed.
 */
function readSvg(svg: string): Element[] {
  const token = new RegExp(`<(/?)([a-z]+)((?:${ATTRIBUTE})*)\\s*(/?)>|([^<&]+|${ENTITY})`, 'y')
  const elements: Element[] = []
  const open: Element[] = []
  while (token.lastIndex < svg.length) {
    const at = token.lastIndex
    const m = token.exec(svg)
    if (!m) throw new Error(`not well-formed at ${at}: ${svg.slice(at, at + 40)}`)
    const [, closing, tag, attrText, selfClosing, text] = m
    if (text !== undefined) {
      if (open.length) open.at(-1)!.text += decodeEntities(text)
      else if (text.trim()) throw new Error(`text outside the root: ${text}`)
    } else if (closing) {
      if (open.pop()?.tag !== tag) throw new Error(`unbalanced </${tag}> at ${at}`)
    } else {
      const attrs = Object.fromEntries(
        [...attrText!.matchAll(/([a-zA-Z][\w:-]*)="([^"]*)"/g)].map(([, k, v]) => [k!, decodeEntities(v!)]),
      )
      const element = { tag: tag!, attrs, text: '' }
      elements.push(element)
      if (!selfClosing) open.push(element)
    }
  }
  if (open.length) throw new Error(`unclosed <${open.at(-1)!.tag}>`)
  return elements
}

const texts = (elements: Element[]) => elements.filter((e) => e.tag === 'text').map((e) => e.text)
const bars = (elements: Element[]) => elements.filter((e) => e.tag === 'rect' && e.attrs.height === '16')

describe('readSvg, the reader these tests trust', () => {
  it('refuses a raw ampersand, an unclosed element and a stray closing tag', () => {
    expect(() => readSvg('<svg><text>a & b</text></svg>')).toThrow(/well-formed/)
    expect(() => readSvg('<svg><text>a</svg>')).toThrow(/unbalanced/)
    expect(() => readSvg('<svg><g>a</g></g></svg>')).toThrow(/unbalanced/)
    expect(() => readSvg('<svg>')).toThrow(/unclosed/)
  })
})

describe('barChart', () => {
  const chart = barChart({
    title: 'Latency <p99> & median',
    unit: 'ms',
    series: ['median', 'p99'],
    groups: [
      { label: 'A <edge> & co', values: [20, 80], note: '100 % of 5 reached "all"' },
      { label: 'B', values: [40, undefined] },
    ],
    reference: { value: 50, label: 'limit' },
  })
  const elements = readSvg(chart)

  it('is one well-formed svg element with its size and a white background', () => {
    expect(elements[0]!.tag).toBe('svg')
    expect(elements[0]!.attrs.viewBox).toBe(`0 0 ${elements[0]!.attrs.width} ${elements[0]!.attrs.height}`)
    expect(elements[1]!.attrs.fill).toBe('#ffffff')
  })

  it('draws bar lengths proportional to the values, from one baseline', () => {
    const [a1, a2, b1] = bars(elements).map((bar) => ({ x: Number(bar.attrs.x), width: Number(bar.attrs.width) }))
    expect(new Set([a1!.x, a2!.x, b1!.x]).size).toBe(1)
    expect(a2!.width / a1!.width).toBeCloseTo(4, 1)
    expect(b1!.width / a1!.width).toBeCloseTo(2, 1)
  })

  it('colours each series alike in every group and in the legend', () => {
    const [a1, a2, b1] = bars(elements)
    expect(b1!.attrs.fill).toBe(a1!.attrs.fill)
    expect(a2!.attrs.fill).not.toBe(a1!.attrs.fill)
    const legend = elements.filter((e) => e.tag === 'rect' && e.attrs.height === '10').map((e) => e.attrs.fill)
    expect(legend).toEqual([a1!.attrs.fill, a2!.attrs.fill])
  })

  it('labels the axis from 0 to a round maximum with the unit, and every bar with its value', () => {
    expect(texts(elements)).toEqual(expect.arrayContaining(['0', '25', '50', '75', '100 ms']))
    expect(texts(elements)).toEqual(expect.arrayContaining(['20 ms', '80 ms', '40 ms', 'median', 'p99']))
  })

  it('says "not measured" for a missing value instead of drawing a bar', () => {
    expect(bars(elements)).toHaveLength(3)
    expect(texts(elements)).toContain('not measured')
  })

  it('draws the reference line at its value on the same scale', () => {
    const line = elements.find((e) => e.tag === 'line' && e.attrs['stroke-dasharray'])!
    const [a1] = bars(elements)
    const x0 = Number(a1!.attrs.x)
    expect((Number(line.attrs.x1) - x0) / Number(a1!.attrs.width)).toBeCloseTo(50 / 20, 1)
    expect(texts(elements)).toContain('limit')
  })

  it('escapes <, & and quotes in the title, labels and notes, and reads them back unchanged', () => {
    expect(chart).toContain('Latency &lt;p99&gt; &amp; median')
    expect(texts(elements)).toEqual(
      expect.arrayContaining(['Latency <p99> & median', 'A <edge> & co', '100 % of 5 reached "all"']),
    )
  })

  it('draws nothing but the frame and axis for no groups, and one bar for one value', () => {
    const empty = readSvg(barChart({ title: 'none', unit: 'ms', series: ['x'], groups: [] }))
    expect(bars(empty)).toHaveLength(0)
    expect(texts(empty)).toEqual(expect.arrayContaining(['none', '0', '1 ms']))
    const one = readSvg(barChart({ title: 'one', unit: 'req/s', series: ['x'], groups: [{ label: 'A', values: [0] }] }))
    expect(bars(one)).toHaveLength(1)
    expect(Number(bars(one)[0]!.attrs.width)).toBe(1)
    expect(texts(one)).toContain('0 req/s')
  })
})

describe('cdfChart', () => {
  const chart = cdfChart({
    title: 'CDF & tails',
    xLabel: 'ms <end-to-end>',
    series: [
      { label: 'A', values: [10, 20, 30, 1000] },
      { label: 'B & C', values: [5] },
    ],
  })
  const elements = readSvg(chart)
  const lines = elements.filter((e) => e.tag === 'polyline')
  const points = (line: Element) =>
    line.attrs.points!.split(' ').map((p) => p.split(',').map(Number) as [number, number])

  it('draws one step line per series, rising from 0 % to 100 %', () => {
    expect(lines).toHaveLength(2)
    const a = points(lines[0]!)
    expect(a).toHaveLength(5)
    const ys = a.map(([, y]) => y)
    expect(ys).toEqual([...ys].sort((p, q) => q - p))
    const xs = a.map(([x]) => x)
    expect(xs).toEqual([...xs].sort((p, q) => p - q))
  })

  it('places values on a log axis: equal ratios, equal distances', () => {
    const [, x10, x20] = points(lines[0]!).map(([x]) => x)
    const x5 = points(lines[1]!)[1]![0]
    expect(x20! - x10!).toBeCloseTo(x10! - x5, 0)
  })

  it('labels decades, fractions and the axis, escaping the labels', () => {
    expect(texts(elements)).toEqual(expect.arrayContaining(['1', '10', '100', '1000', '0%', '50%', '90%', '100%']))
    expect(texts(elements)).toEqual(expect.arrayContaining(['CDF & tails', 'ms <end-to-end> (log scale)', 'B & C']))
  })

  it('draws a one-point series as a single step, and no line for a series without values', () => {
    expect(points(lines[1]!)).toHaveLength(2)
    const empty = readSvg(cdfChart({ title: 'empty', xLabel: 'ms', series: [{ label: 'A', values: [] }] }))
    expect(empty.filter((e) => e.tag === 'polyline')).toHaveLength(0)
    expect(texts(empty)).toEqual(expect.arrayContaining(['A', '10', '100']))
  })
})
