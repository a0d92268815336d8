/**
 * The bridge's cursor on disk: the last sequence emitted into Serf and the ack not yet
 * confirmed by the edge. Written atomically (temp file, fsync, rename, fsync of the folder), so
 * a crash leaves either the old or the new state, never a torn file.
 */

import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rename } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** What the bridge must remember across a crash. */
export interface CursorState {
  cluster: string
  /** Every event up to here has been emitted into Serf (or refused by it). */
  cursor: number
  /** An ack to (re)send before anything else: emitted but not yet confirmed by the edge. */
  pendingAck: { through: number; rejected: { sequence: number; error: string }[] } | null
}

/** Thrown when the cursor file exists but cannot be used; the bridge refuses to guess. */
export class CursorFileError extends Error {
  override name = 'CursorFileError'
}

export class CursorStore {
  readonly path: string
  readonly #cluster: string

  constructor(path: string, cluster: string) {
    this.path = path
    this.#cluster = cluster
  }

  /**
   * Read the saved state; a missing file is a fresh start at cursor 0.
   * @throws {CursorFileError} for a file of another cluster or one that is not ours
   */
  async load(): Promise<CursorState> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { cluster: this.#cluster, cursor: 0, pendingAck: null }
      }
      throw error
    }
    let state: CursorState
    try {
      state = JSON.parse(text) as CursorState
    } catch (cause) {
      throw new CursorFileError(`${this.path} is not valid JSON; move it away to start from the edge's state`, {
        cause,
      })
    }
    if (state.cluster !== this.#cluster) {
      throw new CursorFileError(`${this.path} belongs to cluster "${state.cluster}", not "${this.#cluster}"`)
    }
    if (!Number.isSafeInteger(state.cursor) || state.cursor < 0) {
      throw new CursorFileError(`${this.path} has no valid cursor`)
    }
    return { cluster: state.cluster, cursor: state.cursor, pendingAck: state.pendingAck ?? null }
  }

  /** Persist `state` durably before returning. */
  async save(state: CursorState): Promise<void> {
    const dir = dirname(this.path)
    await mkdir(dir, { recursive: true })
    const temp = join(dir, `.${basename(this.path)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`)
    const file = await open(temp, 'w', 0o600)
    try {
      await file.writeFile(`${JSON.stringify(state)}\n`)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(temp, this.path)
    const folder = await open(dir, 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
  }
}
