/** The ClusterQueue's SQLite schema and row shapes. */
import type { AuditDecision } from '../../protocol/audit.ts'
import type { QueryRecord, QueryState } from '../../protocol/query.ts'
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
CREATE TABLE IF NOT EXISTS queries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  sender TEXT NOT NULL,
  request_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  name TEXT NOT NULL,
  payload BLOB NOT NULL,
  nodes TEXT NOT NULL,
  tags TEXT NOT NULL,
  timeout_ms INTEGER NOT NULL,
  request_ack INTEGER NOT NULL,
  relay_factor INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  bridge_id TEXT,
  lease_token INTEGER,
  finished_at INTEGER,
  error TEXT,
  UNIQUE (sender, request_id)
);
CREATE INDEX IF NOT EXISTS queries_by_state ON queries (state, seq);
CREATE TABLE IF NOT EXISTS query_records (
  query_id TEXT NOT NULL,
  idx INTEGER NOT NULL,
  type TEXT NOT NULL,
  node TEXT,
  payload BLOB,
  at TEXT NOT NULL,
  PRIMARY KEY (query_id, idx)
);
CREATE TABLE IF NOT EXISTS members (
  name TEXT PRIMARY KEY,
  addr TEXT NOT NULL,
  port INTEGER NOT NULL,
  status TEXT NOT NULL,
  tags TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members_report (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  bridge_id TEXT NOT NULL,
  reported_at INTEGER NOT NULL,
  longest_name INTEGER NOT NULL
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

export type QueryRow = {
  seq: number
  id: string
  sender: string
  request_id: string
  body_hash: string
  name: string
  payload: ArrayBuffer
  /** JSON array of node names. */
  nodes: string
  /** JSON object, tag → regex. */
  tags: string
  timeout_ms: number
  request_ack: number
  relay_factor: number
  state: QueryState
  created_at: number
  started_at: number | null
  bridge_id: string | null
  lease_token: number | null
  finished_at: number | null
  error: string | null
}

export type QueryRecordRow = {
  query_id: string
  idx: number
  type: QueryRecord['type']
  node: string | null
  payload: ArrayBuffer | null
  at: string
}

export type MemberRow = {
  name: string
  addr: string
  port: number
  status: string
  /** JSON object. */
  tags: string
}

export type MembersReportRow = {
  bridge_id: string
  reported_at: number
  /** UTF-8 bytes of the longest member name: the bound on a query's source node name. */
  longest_name: number
}
