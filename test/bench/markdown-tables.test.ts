import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { alignTables } from '../../bench/markdown-tables.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** What `biome format` (the formatter `npm run lint` checks) makes of `markdown`. */
function biomeFormat(markdown: string): string {
  const biome = resolve(ROOT, 'node_modules/.bin/biome')
  return execFileSync(biome, ['format', '--stdin-file-path=report.md'], {
    cwd: ROOT,
    input: markdown,
    encoding: 'utf8',
  })
}

describe('alignTables', () => {
  it('pads every cell to its column and every delimiter to the column width', () => {
    const table = ['| system | events/s |', '|---|---|', '| A serf-edge | **24.5** |', '| B | 1 |'].join('\n')
    expect(alignTables(table).split('\n')).toEqual([
      '| system      | events/s |',
      '| ----------- | -------- |',
      '| A serf-edge | **24.5** |',
      '| B           | 1        |',
    ])
  })

  it('makes columns at least three wide, and pads empty header cells', () => {
    expect(alignTables('| | x |\n|---|---|\n| a | b |')).toBe('|     | x   |\n| --- | --- |\n| a   | b   |')
  })

  it('counts characters, not UTF-16 units or bytes', () => {
    expect(alignTables('| a |\n|---|\n| ≤ → − × |')).toBe('| a       |\n| ------- |\n| ≤ → − × |')
  })

  it('keeps an escaped pipe inside its cell', () => {
    expect(alignTables('| a \\| b | c |\n|---|---|\n| d | e |')).toBe(
      '| a \\| b | c   |\n| ------ | --- |\n| d      | e   |',
    )
  })

  it('leaves text between tables alone and collapses runs of blank lines into one', () => {
    const markdown = '# T\n\n\n\nSome `|` text.\n\n| a |\n|---|\n\n\nafter\n'
    expect(alignTables(markdown)).toBe('# T\n\nSome `|` text.\n\n| a   |\n| --- |\n\nafter\n')
  })

  it('writes what Biome would: formatting its output changes nothing', () => {
    const markdown = [
      '# Report',
      '',
      'A paragraph',
      'on two lines.',
      '',
      '| target | this run | verdict |',
      '|---|---|---|',
      '| serf-edge adds ≤ 15 ms | +12.4 ms (96.1 vs 83.7 ms) | **met** |',
      '| 100,000 events queued | `-max-rate=0` | **met** there |',
      '',
      '| | |',
      '|---|---|',
      '| CPU | AMD EPYC, 2 cores |',
      '',
    ].join('\n')
    const aligned = alignTables(markdown)
    expect(biomeFormat(aligned)).toBe(aligned)
    expect(aligned).not.toBe(markdown)
  })
})
