/**
 * The cluster's members as the active bridge last reported them from its Serf agent: one row
 * per member, replaced whole by each report, with who reported it and when.
 */
import { utf8 } from '../../protocol/bytes.ts'
import type { Member } from '../../protocol/query.ts'
import type { MemberRow, MembersReportRow } from './schema.ts'

/** The last report: the members, and its origin. */
export interface MembersView {
  members: Member[]
  bridgeId: string
  reportedAt: number
}

export class MembersStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  /** Replace the snapshot with `members`, reported by `bridgeId` at `now`; call in a transaction. */
  replace(bridgeId: string, members: Member[], now: number): void {
    this.#sql.exec('DELETE FROM members')
    for (const m of members) {
      this.#sql.exec(
        'INSERT OR REPLACE INTO members (name, addr, port, status, tags) VALUES (?, ?, ?, ?, ?)',
        m.name,
        m.addr,
        m.port,
        m.status,
        JSON.stringify(m.tags),
      )
    }
    const longest = members.reduce((most, m) => Math.max(most, utf8(m.name).length), 0)
    this.#sql.exec(
      `INSERT INTO members_report (id, bridge_id, reported_at, longest_name) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET bridge_id = excluded.bridge_id, reported_at = excluded.reported_at,
         longest_name = excluded.longest_name`,
      bridgeId,
      now,
      longest,
    )
  }

  /** The last snapshot, by name; null before any bridge reported. */
  read(): MembersView | null {
    const report = this.#report()
    if (!report) return null
    const members = this.#sql
      .exec<MemberRow>('SELECT * FROM members ORDER BY name')
      .toArray()
      .map((row) => ({
        name: row.name,
        addr: row.addr,
        port: row.port,
        status: row.status,
        tags: JSON.parse(row.tags) as Record<string, string>,
      }))
    return { members, bridgeId: report.bridge_id, reportedAt: report.reported_at }
  }

  /** UTF-8 bytes of the longest member name reported, or undefined before any report. */
  longestName(): number | undefined {
    return this.#report()?.longest_name
  }

  /** How many members the last report named, or undefined before any report. */
  count(): number | undefined {
    if (!this.#report()) return undefined
    return this.#sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM members').one().n
  }

  #report(): MembersReportRow | undefined {
    return this.#sql.exec<MembersReportRow>('SELECT * FROM members_report WHERE id = 1').toArray()[0]
  }
}
