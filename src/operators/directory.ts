/**
 * The operator directory: one Durable Object (named "operators") holding the on-call page's
 * passkeys, invites, single-use nonces, sessions and approval requests in SQLite storage, apart
 * from the cluster queues, so that enrolling a phone or revoking it needs no redeploy.
 *
 * Every check that must be atomic happens in one synchronous method here: an invite is spent
 * once, a nonce is consumed once, a signature counter only moves forward, an approval is decided
 * once. The Worker verifies signatures; this object decides what a verified assertion may do.
 */
import { DurableObject } from 'cloudflare:workers'
import type { Device } from '../../protocol/page.ts'
import { type Approval, type ApprovalDecision, ApprovalStore } from './approvals.ts'

export type { Approval, ApprovalDecision }

/** A device as the admin API lists it. */
export type DeviceView = Device

/** A stored passkey, for verifying an assertion. */
export interface StoredCredential {
  deviceId: string
  operator: string
  name: string
  credentialId: string
  publicKey: Uint8Array
  counter: number
  transports: string[]
  revoked: boolean
}

/** A new passkey, as a verified registration gives it. */
export interface NewCredential {
  credentialId: string
  publicKey: Uint8Array
  counter: number
  transports: string[]
  name: string
}

export type InviteState =
  | { kind: 'open'; operator: string; userId: string; challenge: string | null }
  | { kind: 'invalid'; reason: string }

/** What a nonce was issued for: signing in, firing an event, approving a request. */
export type NoncePurpose =
  | { kind: 'session' }
  | { kind: 'fire'; operator: string; event: string }
  | { kind: 'approve'; operator: string; approval: string; event: string }

export interface Session {
  operator: string
  deviceId: string
  deviceName: string
  credentialId: string
  /** The passkey's transports, for the allowCredentials of an action's challenge. */
  transports: string[]
  expiresAt: number
}

type DeviceRow = {
  id: string
  operator: string
  name: string
  credential_id: string
  public_key: ArrayBuffer
  counter: number
  transports: string
  created_at: number
  last_used_at: number | null
  revoked_at: number | null
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS users (operator TEXT PRIMARY KEY, user_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS invites (
  token_hash TEXT PRIMARY KEY, operator TEXT NOT NULL, created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, challenge TEXT, used_at INTEGER, device_id TEXT);
CREATE TABLE IF NOT EXISTS devices (
  id TEXT PRIMARY KEY, operator TEXT NOT NULL, name TEXT NOT NULL, credential_id TEXT NOT NULL UNIQUE,
  public_key BLOB NOT NULL, counter INTEGER NOT NULL, transports TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, purpose TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  token_hash TEXT PRIMARY KEY, operator TEXT NOT NULL, device_id TEXT NOT NULL, expires_at INTEGER NOT NULL);
`

/** Rows that ended are kept this long for the admin's view, then pruned by the alarm. */
const KEEP_ENDED_MS = 24 * 3_600_000
const PRUNE_EVERY_MS = 3_600_000

export class OperatorDirectory extends DurableObject {
  readonly #sql: SqlStorage
  readonly #approvals: ApprovalStore

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never)
    this.#sql = ctx.storage.sql
    this.#sql.exec(SCHEMA)
    this.#approvals = new ApprovalStore(this.#sql)
  }

  /** Open an invite for `operator`; only the token's hash is stored. */
  async createInvite(operator: string, tokenHash: string, expiresAt: number): Promise<void> {
    const now = Date.now()
    this.#sql.exec(
      'INSERT INTO invites (token_hash, operator, created_at, expires_at) VALUES (?, ?, ?, ?)',
      tokenHash,
      operator,
      now,
      expiresAt,
    )
    await this.#schedulePrune(now)
  }

  /** The invite behind a token hash, with the operator's stable WebAuthn user handle. */
  async invite(tokenHash: string): Promise<InviteState> {
    const row = this.#sql
      .exec<{ operator: string; expires_at: number; used_at: number | null; challenge: string | null }>(
        'SELECT operator, expires_at, used_at, challenge FROM invites WHERE token_hash = ?',
        tokenHash,
      )
      .toArray()[0]
    if (!row) return { kind: 'invalid', reason: 'this invite link is unknown' }
    if (row.used_at !== null) return { kind: 'invalid', reason: 'this invite link was already used' }
    if (Date.now() > row.expires_at) return { kind: 'invalid', reason: 'this invite link has expired' }
    return { kind: 'open', operator: row.operator, userId: this.#userId(row.operator), challenge: row.challenge }
  }

  /** Remember the registration challenge the invite's enrolment must answer. */
  async setInviteChallenge(tokenHash: string, challenge: string): Promise<void> {
    this.#sql.exec('UPDATE invites SET challenge = ? WHERE token_hash = ? AND used_at IS NULL', challenge, tokenHash)
  }

  /**
   * Spend the invite and store the passkey, atomically: of two enrolments racing on one link,
   * only the first is kept.
   */
  async enrol(
    tokenHash: string,
    credential: NewCredential,
    deviceId: string,
  ): Promise<DeviceView | { invalid: string }> {
    const state = await this.invite(tokenHash)
    if (state.kind === 'invalid') return { invalid: state.reason }
    const known = this.#sql.exec('SELECT 1 FROM devices WHERE credential_id = ?', credential.credentialId).toArray()
    if (known.length > 0) return { invalid: 'this passkey is already enrolled' }
    const now = Date.now()
    this.#sql.exec('UPDATE invites SET used_at = ?, device_id = ? WHERE token_hash = ?', now, deviceId, tokenHash)
    this.#sql.exec(
      `INSERT INTO devices (id, operator, name, credential_id, public_key, counter, transports, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      deviceId,
      state.operator,
      credential.name,
      credential.credentialId,
      credential.publicKey,
      credential.counter,
      JSON.stringify(credential.transports),
      now,
    )
    return this.#view(this.#device('id', deviceId)!)
  }

  /** The passkey with this credential id, revoked or not; null when never enrolled. */
  async credential(credentialId: string): Promise<StoredCredential | null> {
    const row = this.#device('credential_id', credentialId)
    if (!row) return null
    return {
      deviceId: row.id,
      operator: row.operator,
      name: row.name,
      credentialId: row.credential_id,
      publicKey: new Uint8Array(row.public_key),
      counter: row.counter,
      transports: JSON.parse(row.transports) as string[],
      revoked: row.revoked_at !== null,
    }
  }

  /**
   * Record a verified assertion's signature counter. A counter that does not move forward (when
   * either is non-zero) means a cloned authenticator or a replay: refused.
   */
  async recordUse(deviceId: string, counter: number): Promise<'ok' | 'revoked' | 'counter'> {
    const row = this.#device('id', deviceId)
    if (!row || row.revoked_at !== null) return 'revoked'
    if ((counter > 0 || row.counter > 0) && counter <= row.counter) return 'counter'
    this.#sql.exec('UPDATE devices SET counter = ?, last_used_at = ? WHERE id = ?', counter, Date.now(), deviceId)
    return 'ok'
  }

  /** The passkeys an operator has enrolled and not revoked, for allowCredentials lists. */
  async activeCredentials(operator: string): Promise<{ id: string; transports: string[] }[]> {
    return this.#sql
      .exec<{ credential_id: string; transports: string }>(
        'SELECT credential_id, transports FROM devices WHERE operator = ? AND revoked_at IS NULL',
        operator,
      )
      .toArray()
      .map((row) => ({ id: row.credential_id, transports: JSON.parse(row.transports) as string[] }))
  }

  async devices(operator?: string): Promise<DeviceView[]> {
    return this.#sql
      .exec<DeviceRow>(
        'SELECT * FROM devices WHERE (? IS NULL OR operator = ?) ORDER BY created_at',
        operator ?? null,
        operator ?? null,
      )
      .toArray()
      .map((row) => this.#view(row))
  }

  /** Revoke a device at once: its sessions end and its assertions are refused from now on. */
  async revoke(deviceId: string): Promise<DeviceView | null> {
    const row = this.#device('id', deviceId)
    if (!row) return null
    if (row.revoked_at === null) this.#sql.exec('UPDATE devices SET revoked_at = ? WHERE id = ?', Date.now(), deviceId)
    this.#sql.exec('DELETE FROM sessions WHERE device_id = ?', deviceId)
    return this.#view(this.#device('id', deviceId)!)
  }

  /** Issue a single-use nonce for `purpose`, valid until `expiresAt`. */
  async issueNonce(nonce: string, purpose: NoncePurpose, expiresAt: number): Promise<void> {
    this.#sql.exec(
      'INSERT INTO nonces (nonce, purpose, expires_at) VALUES (?, ?, ?)',
      nonce,
      JSON.stringify(purpose),
      expiresAt,
    )
    await this.#schedulePrune(Date.now())
  }

  /** Consume a nonce: true only the first time, before it expires, for the purpose it was issued for. */
  async consumeNonce(nonce: string, purpose: NoncePurpose): Promise<boolean> {
    const row = this.#sql
      .exec<{ purpose: string; expires_at: number }>('SELECT purpose, expires_at FROM nonces WHERE nonce = ?', nonce)
      .toArray()[0]
    if (!row) return false
    this.#sql.exec('DELETE FROM nonces WHERE nonce = ?', nonce)
    return Date.now() <= row.expires_at && row.purpose === JSON.stringify(purpose)
  }

  async openSession(tokenHash: string, operator: string, deviceId: string, expiresAt: number): Promise<void> {
    this.#sql.exec(
      'INSERT INTO sessions (token_hash, operator, device_id, expires_at) VALUES (?, ?, ?, ?)',
      tokenHash,
      operator,
      deviceId,
      expiresAt,
    )
    await this.#schedulePrune(Date.now())
  }

  /** The live session behind a token hash; null when unknown, expired or its device revoked. */
  async session(tokenHash: string): Promise<Session | null> {
    const row = this.#sql
      .exec<{
        operator: string
        device_id: string
        expires_at: number
        name: string
        credential_id: string
        transports: string
      }>(
        `SELECT sessions.operator, sessions.device_id, sessions.expires_at, devices.name, devices.credential_id,
                devices.transports
         FROM sessions JOIN devices ON devices.id = sessions.device_id
         WHERE token_hash = ? AND devices.revoked_at IS NULL`,
        tokenHash,
      )
      .toArray()[0]
    if (!row || Date.now() > row.expires_at) return null
    return {
      operator: row.operator,
      deviceId: row.device_id,
      deviceName: row.name,
      credentialId: row.credential_id,
      transports: JSON.parse(row.transports) as string[],
      expiresAt: row.expires_at,
    }
  }

  async closeSession(tokenHash: string): Promise<void> {
    this.#sql.exec('DELETE FROM sessions WHERE token_hash = ?', tokenHash)
  }

  async openApproval(approval: Omit<Approval, 'open'>): Promise<void> {
    this.#approvals.open(approval, Date.now())
    await this.#schedulePrune(Date.now())
  }

  /** Open approval requests `operator` may approve, oldest first. */
  async approvalsFor(operator: string): Promise<Approval[]> {
    return this.#approvals.waitingFor(operator, Date.now())
  }

  async approval(id: string): Promise<Approval | null> {
    return this.#approvals.get(id, Date.now())
  }

  /** Decide an approval by `operator`, once: the first valid approval wins. */
  async approve(id: string, operator: string): Promise<ApprovalDecision> {
    return this.#approvals.decide(id, operator, Date.now())
  }

  override async alarm(): Promise<void> {
    const now = Date.now()
    this.#sql.exec('DELETE FROM nonces WHERE expires_at < ?', now)
    this.#sql.exec('DELETE FROM sessions WHERE expires_at < ?', now)
    this.#sql.exec('DELETE FROM invites WHERE expires_at < ?', now - KEEP_ENDED_MS)
    this.#approvals.prune(now - KEEP_ENDED_MS)
    const left = this.#sql
      .exec<{ n: number }>(
        'SELECT (SELECT COUNT(*) FROM nonces) + (SELECT COUNT(*) FROM sessions) + (SELECT COUNT(*) FROM invites) + (SELECT COUNT(*) FROM approvals) AS n',
      )
      .one().n
    if (left > 0) await this.ctx.storage.setAlarm(now + PRUNE_EVERY_MS)
  }

  async #schedulePrune(now: number): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(now + PRUNE_EVERY_MS)
  }

  #userId(operator: string): string {
    const row = this.#sql
      .exec<{ user_id: string }>('SELECT user_id FROM users WHERE operator = ?', operator)
      .toArray()[0]
    if (row) return row.user_id
    const userId = crypto.randomUUID()
    this.#sql.exec('INSERT INTO users (operator, user_id) VALUES (?, ?)', operator, userId)
    return userId
  }

  #device(column: 'id' | 'credential_id', value: string): DeviceRow | undefined {
    return this.#sql.exec<DeviceRow>(`SELECT * FROM devices WHERE ${column} = ?`, value).toArray()[0]
  }

  #view(row: DeviceRow): DeviceView {
    return {
      id: row.id,
      operator: row.operator,
      name: row.name,
      credentialId: row.credential_id,
      createdAt: new Date(row.created_at).toISOString(),
      lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at).toISOString(),
      ...(row.revoked_at !== null ? { revokedAt: new Date(row.revoked_at).toISOString() } : {}),
    }
  }
}

/** The one directory object. */
export const directoryOf = (env: { OPERATOR_DIRECTORY: DurableObjectNamespace<OperatorDirectory> }) =>
  env.OPERATOR_DIRECTORY.get(env.OPERATOR_DIRECTORY.idFromName('operators'))
