/** The ClusterQueue's SQLite schema and row shapes. */
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
