/** The bridge's cursor file: atomic, checked, and a fresh start when absent. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CursorFileError, CursorStore } from '../../agent-bridge/cursor-store.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-cursor-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('cursor store', () => {
  it('a missing file is a fresh start at 0; what is saved is read back', async () => {
    const store = new CursorStore(join(dir, 'state', 'prod.cursor.json'), 'prod')
    expect(await store.load()).toEqual({ cluster: 'prod', cursor: 0, pendingAck: null })
    const state = {
      cluster: 'prod',
      cursor: 41,
      pendingAck: { through: 41, rejected: [{ sequence: 40, error: 'too big' }] },
    }
    await store.save(state)
    expect(await store.load()).toEqual(state)
    expect(await readdir(join(dir, 'state'))).toEqual(['prod.cursor.json'])
  })

  it('replaces the file whole by rename: overlapping saves leave one complete file, no temp files', async () => {
    const path = join(dir, 'prod.cursor.json')
    const store = new CursorStore(path, 'prod')
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.save({ cluster: 'prod', cursor: i, pendingAck: null })),
    )
    const state = JSON.parse(await readFile(path, 'utf8')) as { cursor: number }
    expect(state.cursor).toBeGreaterThanOrEqual(0)
    expect(state.cursor).toBeLessThan(20)
    expect(await readdir(dir)).toEqual(['prod.cursor.json'])
  })

  it('refuses a file of another cluster, or one that is not a cursor, instead of guessing', async () => {
    const path = join(dir, 'x.json')
    await writeFile(path, JSON.stringify({ cluster: 'staging', cursor: 3, pendingAck: null }))
    await expect(new CursorStore(path, 'prod').load()).rejects.toThrow(CursorFileError)
    await expect(new CursorStore(path, 'prod').load()).rejects.toThrow(/belongs to cluster "staging"/)
    await writeFile(path, '{"cluster": "prod", "cursor": -1}')
    await expect(new CursorStore(path, 'prod').load()).rejects.toThrow(/no valid cursor/)
    await writeFile(path, 'not json')
    await expect(new CursorStore(path, 'prod').load()).rejects.toThrow(/not valid JSON/)
  })
})
