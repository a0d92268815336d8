/**
 * Reads a ClusterQueue's SQLite file (read-only, beside the running workerd) with node:sqlite:
 * rows by state and how much of the file is live data rather than free pages.
 */
import { createRequire } from 'node:module'

export interface QueueDbFacts {
  rows: number
  byState: Record<string, number>
  pageSize: number
  pages: number
  freePages: number
  /** (pages − free pages) × page size. */
  liveBytes: number
}

type Row = Record<string, unknown>
interface Database {
  prepare(sql: string): { all(): Row[]; get(): Row | undefined }
  close(): void
}

/** Facts about the file, or undefined when it cannot be read (locked, missing). */
export function inspectQueueDb(file: string): QueueDbFacts | undefined {
  // Loaded on demand: node:sqlite is still flagged experimental and warns when loaded.
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as {
    DatabaseSync: new (path: string, options: object) => Database
  }
  let db: Database | undefined
  try {
    db = new DatabaseSync(file, { readOnly: true })
    const byState: Record<string, number> = {}
    for (const row of db.prepare('SELECT state, COUNT(*) AS n FROM events GROUP BY state').all())
      byState[String(row.state)] = Number(row.n)
    const pageSize = Number(db.prepare('PRAGMA page_size').get()?.page_size)
    const pages = Number(db.prepare('PRAGMA page_count').get()?.page_count)
    const freePages = Number(db.prepare('PRAGMA freelist_count').get()?.freelist_count)
    const rows = Object.values(byState).reduce((a, b) => a + b, 0)
    return { rows, byState, pageSize, pages, freePages, liveBytes: (pages - freePages) * pageSize }
  } catch {
    return undefined
  } finally {
    db?.close()
  }
}
