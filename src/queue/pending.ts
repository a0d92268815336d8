/**
 * Events waiting for a confirmation click, or for a second person's approval: single-use,
 * short-lived, and bound to who asked. The edge enforces this, not the chat client: a chat
 * app's own confirm dialog runs only in the client and proves nothing to the server.
 */

/** What completing a pending event needs. */
export type Requirement = 'confirm' | 'approval'

/** A pending event as the door opens it; `request` is the door's own text, kept opaque here. */
export interface PendingInput {
  id: string
  /** Principal id of the requester (`slack:T…:U…`). */
  requester: string
  requirement: Requirement
  /** For `approval`: principal ids that may approve (the requester never counts). */
  approvers: string[]
  /** SHA-256 of the canonical event (cluster, name, payload, coalesce); the button binds it. */
  eventHash: string
  request: string
  ttlMs: number
}

/**
 * The outcome of a click on a pending event. Every kind but `unknown` carries the door's
 * `request`, so that a refused click, too, is recorded with the event it was about.
 */
export type Decision =
  | { kind: 'fire'; request: string; eventHash: string; requester: string; approvedBy?: string }
  | { kind: 'cancelled'; request: string; requester: string }
  | { kind: 'unknown' }
  | { kind: 'expired'; request: string }
  | { kind: 'used'; state: 'fired' | 'cancelled'; by: string | null; request: string }
  | { kind: 'not-allowed'; reason: string; request: string }

type PendingRow = {
  id: string
  request: string
  event_hash: string
  requirement: Requirement
  created_at: number
  expires_at: number
  state: 'open' | 'fired' | 'cancelled' | 'expired'
  decided_by: string | null
}

/** Pending events of one cluster, in its Durable Object's storage. */
export class PendingStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
  }

  open(input: PendingInput, now: number): void {
    const request = JSON.stringify({ requester: input.requester, approvers: input.approvers, door: input.request })
    this.#sql.exec(
      `INSERT INTO pending (id, request, event_hash, requirement, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
      input.id,
      request,
      input.eventHash,
      input.requirement,
      now,
      now + input.ttlMs,
    )
  }

  /**
   * Settle a click by `actor` (a principal id) atomically: the first valid click wins, every
   * later one, an expired id or a click by someone not entitled gets its reason and fires nothing.
   */
  decide(id: string, actor: string, action: 'fire' | 'cancel', now: number): Decision {
    const row = this.#sql.exec<PendingRow>('SELECT * FROM pending WHERE id = ?', id).toArray()[0]
    if (!row) return { kind: 'unknown' }
    const stored = JSON.parse(row.request) as { requester: string; approvers: string[]; door: string }
    if (row.state === 'expired') return { kind: 'expired', request: stored.door }
    if (row.state !== 'open') return { kind: 'used', state: row.state, by: row.decided_by, request: stored.door }
    if (now > row.expires_at) {
      this.#settle(id, 'expired', null, now)
      return { kind: 'expired', request: stored.door }
    }
    const isRequester = actor === stored.requester
    const isApprover = stored.approvers.includes(actor) && !isRequester
    if (action === 'cancel') {
      if (!isRequester && !isApprover)
        return { kind: 'not-allowed', reason: 'only the requester or an approver may cancel', request: stored.door }
      this.#settle(id, 'cancelled', actor, now)
      return { kind: 'cancelled', request: stored.door, requester: stored.requester }
    }
    if (row.requirement === 'confirm' && !isRequester) {
      return { kind: 'not-allowed', reason: 'only the person who asked can confirm it', request: stored.door }
    }
    if (row.requirement === 'approval' && !isApprover) {
      const reason = isRequester
        ? 'it needs the approval of someone else in the approver group'
        : 'only a member of the approver group can approve it'
      return { kind: 'not-allowed', reason, request: stored.door }
    }
    this.#settle(id, 'fired', actor, now)
    return {
      kind: 'fire',
      request: stored.door,
      eventHash: row.event_hash,
      requester: stored.requester,
      ...(row.requirement === 'approval' ? { approvedBy: actor } : {}),
    }
  }

  /** Forget what was decided or expired before `before`. */
  prune(before: number): void {
    this.#sql.exec('DELETE FROM pending WHERE expires_at < ?', before)
  }

  #settle(id: string, state: PendingRow['state'], by: string | null, now: number): void {
    this.#sql.exec('UPDATE pending SET state = ?, decided_by = ?, decided_at = ? WHERE id = ?', state, by, now, id)
  }
}
