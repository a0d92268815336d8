/**
 * What an event is, in one place: the sender's request body, its validation, and Serf's size
 * rule. The edge validates with it before queueing; the client validates with it before sending.
 */
import { z } from 'zod'
import { Base64Error, fromBase64, utf8 } from './bytes.ts'

/** Serf's default `user_event_size_limit`, in bytes. */
export const DEFAULT_USER_EVENT_SIZE_LIMIT = 512
/** The highest `user_event_size_limit` Serf accepts in an agent's configuration. */
export const MAX_USER_EVENT_SIZE_LIMIT = 9216
/** Longest event name we accept, in UTF-8 bytes. */
export const MAX_EVENT_NAME_BYTES = 128
/** Cluster ids: what may appear in a URL path segment and a config key. */
export const CLUSTER_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/

// Control characters would reach handler scripts through SERF_USER_EVENT; refuse them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** The JSON body of `POST /v1/clusters/{cluster}/events`. */
export const eventRequestSchema = z
  .strictObject({
    cluster: z.string({ error: 'cluster must be a string naming the target cluster' }),
    name: z
      .string({ error: 'name must be a string' })
      .min(1, { error: 'name must not be empty' })
      .refine((name) => !CONTROL.test(name), { error: 'name must not contain control characters' })
      .refine((name) => utf8(name).length <= MAX_EVENT_NAME_BYTES, {
        error: `name must be at most ${MAX_EVENT_NAME_BYTES} bytes of UTF-8`,
      }),
    payload: z.string({ error: 'payload must be a string (UTF-8 text)' }).optional(),
    payloadBase64: z
      .string({ error: 'payloadBase64 must be a string' })
      .refine(isBase64, { error: 'payloadBase64 is not valid base64 (standard alphabet, padded)' })
      .optional(),
    coalesce: z.boolean({ error: 'coalesce must be true or false' }).optional(),
  })
  .refine((body) => body.payload === undefined || body.payloadBase64 === undefined, {
    error: 'give payload (text) or payloadBase64 (binary), not both',
  })

/** The request body as a sender writes it. */
export type EventRequest = z.infer<typeof eventRequestSchema>

function isBase64(text: string): boolean {
  try {
    fromBase64(text)
    return true
  } catch (error) {
    if (error instanceof Base64Error) return false
    throw error
  }
}

/** An event ready for Serf: the bytes Serf will see, and its coalesce flag (default true). */
export interface SerfEvent {
  name: string
  payload: Uint8Array
  coalesce: boolean
}

/** Normalise a validated request into the event Serf will receive. */
export function toSerfEvent(body: EventRequest): SerfEvent {
  const payload = body.payloadBase64 !== undefined ? fromBase64(body.payloadBase64) : utf8(body.payload ?? '')
  return { name: body.name, payload, coalesce: body.coalesce ?? true }
}

/** `len(name) + len(payload)` in bytes: the first size Serf checks. */
export function serfEventSize(event: Pick<SerfEvent, 'name' | 'payload'>): number {
  return utf8(event.name).length + event.payload.length
}

// Serf's codec writes names and payloads as msgpack raw strings: a 1-byte header up to 31
// bytes, 3 bytes up to 65535.
const rawHeader = (bytes: number): number => (bytes < 32 ? 1 : 3)

/**
 * The largest size of the gossip message Serf encodes for this event. Serf refuses an event
 * when `len(name) + len(payload)` or this encoded size exceeds `user_event_size_limit`
 * ("encoded user event exceeds configured limit of N bytes after encoding"). The encoding adds
 * 25 bytes of framing, the string headers, and the Lamport time, which grows with the cluster's
 * clock up to 9 bytes; the edge assumes the widest so that what it accepts Serf never refuses.
 */
export function serfEncodedSizeBound(event: Pick<SerfEvent, 'name' | 'payload'>): number {
  const name = utf8(event.name).length
  const payload = event.payload.length
  return 25 + 9 + rawHeader(name) + name + rawHeader(payload) + payload
}

/** Largest `len(name) + len(payload)` that {@link serfEncodedSizeBound} fits into `limit`. */
export function maxEventSize(limit: number, nameBytes: number): number {
  const room = limit - 34 - rawHeader(nameBytes) - nameBytes
  const payload = room - 3 >= 32 ? room - 3 : Math.min(31, room - 1)
  return nameBytes + Math.max(0, payload)
}

/** Why an event does not fit a cluster: its size, the limit, and the most that would fit. */
export interface SizeExcess {
  /** `len(name) + len(payload)`. */
  size: number
  /** The cluster's `user_event_size_limit`. */
  limit: number
  /** Largest `len(name) + len(payload)` Serf always accepts with this name under `limit`. */
  maxSize: number
}

/**
 * Serf's size rule, as every door applies it: null when Serf will accept the event under
 * `limit`, otherwise what is over. One place, so an event from any door is judged alike.
 * @example checkSerfSize({ name: 'deploy', payload: utf8('v1') }, 512) // null
 */
export function checkSerfSize(event: Pick<SerfEvent, 'name' | 'payload'>, limit: number): SizeExcess | null {
  if (serfEncodedSizeBound(event) <= limit) return null
  return { size: serfEventSize(event), limit, maxSize: maxEventSize(limit, utf8(event.name).length) }
}

/** The refusal text for an event over a cluster's limit; names the limit, the size and the room. */
export function describeSizeExcess(cluster: string, excess: SizeExcess): string {
  return (
    `name plus payload is ${excess.size} bytes; cluster "${cluster}" has a Serf user_event_size_limit of ` +
    `${excess.limit} bytes, which after Serf's encoding leaves room for at most ${excess.maxSize} bytes ` +
    'of name plus payload'
  )
}
