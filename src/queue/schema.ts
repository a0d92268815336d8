/** The ClusterQueue's SQLite schema and row shapes. */
import type { AuditDecision } from '../../protocol/audit.ts'
import type { EventState } from '../../protocol/wire.ts'

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  request_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  name TEXT NOT NULL,
  payload BLOB NOT NULL,
  coalesce_flag INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  enqueued_at INTEGER NOT NULL,
  handed_at INTEGER,
  settled_at INTEGER,
  error TEXT,
  UNIQUE (sender, request_id)
);
CREATE INDEX IF NOT EXISTS events_by_state ON events (state, seq);
CREATE INDEX IF NOT EXISTS events_by_age ON events (state, enqueued_at);
CREATE TABLE IF NOT EXISTS lease (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  token INTEGER NOT NULL,
  bridge_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  door TEXT NOT NULL,
  principal TEXT NOT NULL,
  channel TEXT,
  name TEXT,
  payload_sha256 TEXT,
  decision TEXT NOT NULL,
  reason TEXT,
  event_id TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
CREATE INDEX IF NOT EXISTS audit_by_principal ON audit (principal, seq);
CREATE TABLE IF NOT EXISTS followups (
  event_id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  url TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  announce INTEGER NOT NULL,
  label TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'waiting',
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  last_error TEXT
);
CREATE INDEX IF NOT EXISTS followups_by_state ON followups (state, next_at);
CREATE TABLE IF NOT EXISTS pending (
  id TEXT PRIMARY KEY,
  request TEXT NOT NULL,
  event_hash TEXT NOT NULL,
  requirement TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'open',
  decided_by TEXT,
  decided_at INTEGER
);
`

export type EventRow = {
  seq: number
  id: string
  sender: string
  request_id: string
  body_hash: string
  name: string
  payload: ArrayBuffer
  coalesce_flag: number
  state: EventState
  enqueued_at: number
  handed_at: number | null
  settled_at: number | null
  error: string | null
}

export type LeaseRow = {
  token: number
  bridge_id: string
  expires_at: number
}

export type AuditRow = {
  seq: number
  at: number
  door: string
  principal: string
  channel: string | null
  name: string | null
  payload_sha256: string | null
  decision: AuditDecision
  reason: string | null
  event_id: string | null
}
