/**
 * Approval requests of the on-call page's two-person rule, in the operator directory's storage:
 * an event one operator signed waits until another operator listed as its approver signs it
 * too; decided once, the first valid approval wins.
 */
import type { PageEvent } from '../../protocol/page.ts'

export const APPROVALS_TABLE = `
CREATE TABLE IF NOT EXISTS approvals (
  id TEXT PRIMARY KEY, requester TEXT NOT NULL, requester_credential TEXT NOT NULL, action TEXT NOT NULL,
  label TEXT NOT NULL, event TEXT NOT NULL, approvers TEXT NOT NULL, danger INTEGER NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, state TEXT NOT NULL DEFAULT 'open', decided_by TEXT);
`

/** An event that waits for a second operator's signed approval. */
export interface Approval {
  id: string
  /** The operator who asked (an operator id, not a principal). */
  requester: string
  requesterCredential: string
  action: string
  label: string
  event: PageEvent
  approvers: string[]
  danger: boolean
  expiresAt: number
  /** Still waiting: neither approved nor expired. */
  open?: boolean
}

export type ApprovalDecision =
  | { kind: 'approved'; approval: Approval }
  | { kind: 'refused'; reason: string; approval?: Approval }

type ApprovalRow = {
  id: string
  requester: string
  requester_credential: string
  action: string
  label: string
  event: string
  approvers: string
  danger: number
  expires_at: number
  state: 'open' | 'approved' | 'expired'
  decided_by: string | null
}

export class ApprovalStore {
  readonly #sql: SqlStorage

  constructor(sql: SqlStorage) {
    this.#sql = sql
    this.#sql.exec(APPROVALS_TABLE)
  }

  open(approval: Omit<Approval, 'open'>, now: number): void {
    this.#sql.exec(
      `INSERT INTO approvals (id, requester, requester_credential, action, label, event, approvers, danger, created_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      approval.id,
      approval.requester,
      approval.requesterCredential,
      approval.action,
      approval.label,
      JSON.stringify(approval.event),
      JSON.stringify(approval.approvers),
      approval.danger ? 1 : 0,
      now,
      approval.expiresAt,
    )
  }

  /** Open approval requests `operator` may approve, oldest first. */
  waitingFor(operator: string, now: number): Approval[] {
    return this.#sql
      .exec<ApprovalRow>("SELECT * FROM approvals WHERE state = 'open' AND expires_at >= ? ORDER BY created_at", now)
      .toArray()
      .map((row) => toApproval(row, now))
      .filter((approval) => approval.approvers.includes(operator) && approval.requester !== operator)
  }

  get(id: string, now: number): Approval | null {
    const row = this.#sql.exec<ApprovalRow>('SELECT * FROM approvals WHERE id = ?', id).toArray()[0]
    return row ? toApproval(row, now) : null
  }

  /** Decide an approval by `operator`, once: the first valid approval wins. */
  decide(id: string, operator: string, now: number): ApprovalDecision {
    const row = this.#sql.exec<ApprovalRow>('SELECT * FROM approvals WHERE id = ?', id).toArray()[0]
    if (!row) return { kind: 'refused', reason: `no approval request "${id}"` }
    const approval = toApproval(row, now)
    if (row.state === 'approved') return { kind: 'refused', reason: `already approved by ${row.decided_by}`, approval }
    if (row.state === 'expired' || now > row.expires_at) {
      this.#sql.exec("UPDATE approvals SET state = 'expired' WHERE id = ?", id)
      return { kind: 'refused', reason: 'the approval request has expired', approval }
    }
    if (operator === approval.requester) {
      return { kind: 'refused', reason: 'it needs the approval of another operator', approval }
    }
    if (!approval.approvers.includes(operator)) {
      return { kind: 'refused', reason: `operator "${operator}" is not an approver of this action`, approval }
    }
    this.#sql.exec("UPDATE approvals SET state = 'approved', decided_by = ? WHERE id = ?", operator, id)
    return { kind: 'approved', approval }
  }

  /** Forget requests that ended before `before`. */
  prune(before: number): void {
    this.#sql.exec('DELETE FROM approvals WHERE expires_at < ?', before)
  }
}

function toApproval(row: ApprovalRow, now: number): Approval {
  return {
    id: row.id,
    requester: row.requester,
    requesterCredential: row.requester_credential,
    action: row.action,
    label: row.label,
    event: JSON.parse(row.event) as PageEvent,
    approvers: JSON.parse(row.approvers) as string[],
    danger: row.danger === 1,
    expiresAt: row.expires_at,
    open: row.state === 'open' && now <= row.expires_at,
  }
}
