/**
 * The cluster's single bridge lease, with its fencing token: only the holder of the current
 * token may settle events, run queries or report members.
 */
import type { Lease } from '../../protocol/wire.ts'
import type { LeaseRow } from './schema.ts'

/** Another bridge holds the lease: stand by, and ask again after `retryAfterMs`. */
export type Standby = { kind: 'standby'; holder: string; retryAfterMs: number }

/** The token is not (or no longer) the current one; `holder` is who holds the lease now, if anyone. */
export type LeaseLost = { kind: 'lease-lost'; holder: string | null }

export class LeaseStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  current(): LeaseRow | undefined {
    return this.#sql.exec<LeaseRow>('SELECT * FROM lease WHERE id = 1').toArray()[0]
  }

  /** Grant or renew the lease to `bridgeId`, unless another bridge holds it unexpired. */
  acquire(bridgeId: string, ttlMs: number, now: number): Lease | Standby {
    const current = this.current()
    if (current && current.expires_at > now && current.bridge_id !== bridgeId) {
      return { kind: 'standby', holder: current.bridge_id, retryAfterMs: current.expires_at - now }
    }
    // The token changes only when the holder changes, so a holder's in-flight ack stays valid.
    const token = current && current.bridge_id === bridgeId ? current.token : (current?.token ?? 0) + 1
    const expiresAt = now + ttlMs
    this.#sql.exec(
      `INSERT INTO lease (id, token, bridge_id, expires_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET token = excluded.token, bridge_id = excluded.bridge_id,
         expires_at = excluded.expires_at`,
      token,
      bridgeId,
      expiresAt,
    )
    return { token, bridgeId, expiresAt: new Date(expiresAt).toISOString(), ttlMs }
  }

  /** Keep the current lease until `expiresAt` (an ack renews it). */
  extend(expiresAt: number): void {
    this.#sql.exec('UPDATE lease SET expires_at = ? WHERE id = 1', expiresAt)
  }

  /** Give the lease up so a standby can take over at once; false unless `bridgeId` holds `token`. */
  release(bridgeId: string, token: number): boolean {
    const current = this.current()
    if (!current || current.token !== token || current.bridge_id !== bridgeId) return false
    this.#sql.exec('UPDATE lease SET expires_at = 0 WHERE id = 1')
    return true
  }

  /** Null when `token` is the current lease token, else who holds the lease now. */
  fence(token: number, now: number): LeaseLost | null {
    const current = this.current()
    if (current && current.token === token) return null
    return { kind: 'lease-lost', holder: current && current.expires_at > now ? current.bridge_id : null }
  }
}
