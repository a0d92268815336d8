/**
 * Standard Webhooks signatures: `v1` (HMAC-SHA256) and `v1a` (Ed25519), WebCrypto only, so the
 * same code signs in the client and the bridge and verifies in the edge.
 *
 * The signed content is `${webhook-id}.${webhook-timestamp}.${payload}`. For a request with a
 * body the payload is the raw body, byte for byte (never text decoded and encoded again, which
 * would drop a byte-order mark or replace invalid sequences); for one without (GET) it is the
 * request path with its query, so a signed status read cannot be pointed at another cluster or
 * event.
 */
import { Base64Error, fromBase64, toBase64, utf8 } from './bytes.ts'

/** Timestamp tolerance of the Standard Webhooks spec, in seconds, both directions. */
export const TIMESTAMP_TOLERANCE_S = 5 * 60

/**
 * WebCrypto's key type, named through `crypto.subtle` rather than the global `CryptoKey`, which
 * Node's type declarations lack: the SDK's published types then need no DOM library.
 */
type WebCryptoKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** A key that can verify: an HMAC secret (`whsec_`) or an Ed25519 public key (`whpk_`). */
export type VerifyKey = { kind: 'hmac'; key: WebCryptoKey } | { kind: 'ed25519'; key: WebCryptoKey }

/** A key that can sign: an HMAC secret (`whsec_`) or an Ed25519 secret key (`whsk_`). */
export type SignKey = { kind: 'hmac'; key: WebCryptoKey } | { kind: 'ed25519'; key: WebCryptoKey }

/** Thrown for a key string that cannot be used; the message never contains the key. */
export class KeyFormatError extends Error {
  override name = 'KeyFormatError'
}

/** Thrown when a request's signature headers do not verify; `reason` is safe to show. */
export class SignatureError extends Error {
  override name = 'SignatureError'
}

// PKCS#8 wrapper for a raw 32-byte Ed25519 seed (RFC 8410): WebCrypto imports no raw private keys.
const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])

function keyBytes(text: string, prefix: string, sizes: number[]): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = fromBase64(text.slice(prefix.length))
  } catch (error) {
    if (error instanceof Base64Error) throw new KeyFormatError(`${prefix} key is not valid base64`)
    throw error
  }
  if (!sizes.includes(bytes.length)) {
    const expected = sizes.length > 2 ? `${sizes[0]} to ${sizes.at(-1)}` : sizes.join(' or ')
    throw new KeyFormatError(`${prefix} key must be ${expected} bytes, got ${bytes.length}`)
  }
  return bytes
}

const HMAC = { name: 'HMAC', hash: 'SHA-256' } as const

/**
 * Parse a key that verifies signatures: `whsec_<base64>` or `whpk_<base64 32-byte public key>`.
 * @throws {KeyFormatError}
 */
export async function importVerifyKey(text: string): Promise<VerifyKey> {
  const trimmed = text.trim()
  if (trimmed.startsWith('whsec_')) {
    const raw = keyBytes(trimmed, 'whsec_', range(24, 64))
    return { kind: 'hmac', key: await crypto.subtle.importKey('raw', raw, HMAC, false, ['verify']) }
  }
  if (trimmed.startsWith('whpk_')) {
    const raw = keyBytes(trimmed, 'whpk_', [32])
    const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify'])
    return { kind: 'ed25519', key }
  }
  throw new KeyFormatError('a verify key must start with whsec_ (HMAC) or whpk_ (Ed25519 public)')
}

/**
 * Parse a key that signs: `whsec_<base64>` or `whsk_<base64 32-byte Ed25519 seed>` (a 64-byte
 * seed‖public form is accepted too).
 * @throws {KeyFormatError}
 */
export async function importSignKey(text: string): Promise<SignKey> {
  const trimmed = text.trim()
  if (trimmed.startsWith('whsec_')) {
    const raw = keyBytes(trimmed, 'whsec_', range(24, 64))
    return { kind: 'hmac', key: await crypto.subtle.importKey('raw', raw, HMAC, false, ['sign']) }
  }
  if (trimmed.startsWith('whsk_')) {
    const seed = keyBytes(trimmed, 'whsk_', [32, 64]).subarray(0, 32)
    const pkcs8 = new Uint8Array(ED25519_PKCS8_PREFIX.length + 32)
    pkcs8.set(ED25519_PKCS8_PREFIX)
    pkcs8.set(seed, ED25519_PKCS8_PREFIX.length)
    const key = await crypto.subtle.importKey('pkcs8', pkcs8, { name: 'Ed25519' }, false, ['sign'])
    return { kind: 'ed25519', key }
  }
  throw new KeyFormatError('a signing key must start with whsec_ (HMAC) or whsk_ (Ed25519 secret)')
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i)
}

/** The three Standard Webhooks headers. */
export interface SignatureHeaders {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

/**
 * Sign `payload` with every key given (several keys let a sender roll a key over).
 * @example
 * const headers = await signPayload([await importSignKey(secret)], 'msg_1', body)
 */
export async function signPayload(
  keys: SignKey[],
  id: string,
  payload: string | Uint8Array,
  timestamp = Math.floor(Date.now() / 1000),
): Promise<SignatureHeaders> {
  const content = signedContent(id, String(timestamp), payload)
  const parts: string[] = []
  for (const key of keys) {
    if (key.kind === 'hmac') {
      parts.push(`v1,${toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key.key, content)))}`)
    } else {
      const sig = await crypto.subtle.sign({ name: 'Ed25519' }, key.key, content)
      parts.push(`v1a,${toBase64(new Uint8Array(sig))}`)
    }
  }
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': parts.join(' '),
  }
}

/** `${id}.${timestamp}.` followed by the payload's bytes (text payloads as UTF-8). */
function signedContent(id: string, timestamp: string, payload: string | Uint8Array): Uint8Array<ArrayBuffer> {
  if (typeof payload === 'string') return utf8(`${id}.${timestamp}.${payload}`)
  const prefix = utf8(`${id}.${timestamp}.`)
  const content = new Uint8Array(prefix.length + payload.length)
  content.set(prefix)
  content.set(payload, prefix.length)
  return content
}

/** Options of {@link verifySignature}. */
export interface VerifyOptions {
  /** Current time in seconds; tests move it. */
  nowSeconds?: number
  toleranceSeconds?: number
}

/**
 * Verify Standard Webhooks headers over `payload` against any of `keys`. WebCrypto's `verify`
 * compares in constant time, so no signature byte leaks through timing.
 * @throws {SignatureError} with a reason that names the failed check, never a key
 */
export async function verifySignature(
  keys: VerifyKey[],
  headers: { id: string | null; timestamp: string | null; signature: string | null },
  payload: string | Uint8Array,
  options: VerifyOptions = {},
): Promise<void> {
  const { id, timestamp, signature } = headers
  if (!id || !timestamp || !signature) {
    throw new SignatureError('missing webhook-id, webhook-timestamp or webhook-signature header')
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new SignatureError('webhook-timestamp is not unix seconds')
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000)
  const tolerance = options.toleranceSeconds ?? TIMESTAMP_TOLERANCE_S
  const skew = Number(timestamp) - now
  if (skew < -tolerance) throw new SignatureError('webhook-timestamp is too old (over 5 minutes)')
  if (skew > tolerance) throw new SignatureError('webhook-timestamp is too far in the future')

  const content = signedContent(id, timestamp, payload)
  for (const part of signature.split(' ')) {
    const comma = part.indexOf(',')
    if (comma < 0) continue
    const version = part.slice(0, comma)
    let sig: Uint8Array<ArrayBuffer>
    try {
      sig = fromBase64(part.slice(comma + 1))
    } catch {
      continue
    }
    for (const key of keys) {
      if (version === 'v1' && key.kind === 'hmac') {
        if (await crypto.subtle.verify('HMAC', key.key, sig, content)) return
      } else if (version === 'v1a' && key.kind === 'ed25519' && sig.length === 64) {
        if (await crypto.subtle.verify({ name: 'Ed25519' }, key.key, sig, content)) return
      }
    }
  }
  throw new SignatureError('no signature in webhook-signature matches a key of this sender')
}

/** A new key in the formats above: `secret` signs, `verify` goes into the edge's config. */
export interface GeneratedKey {
  kind: 'hmac' | 'ed25519'
  secret: string
  verify: string
}

/** Generate an HMAC secret (`whsec_`, 32 random bytes): the same string signs and verifies. */
export function generateHmacKey(): GeneratedKey {
  const secret = `whsec_${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`
  return { kind: 'hmac', secret, verify: secret }
}

/** Generate an Ed25519 pair: `whsk_` (the sender keeps it) and `whpk_` (the edge gets it). */
export async function generateEd25519Key(): Promise<GeneratedKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const pkcs8 = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer)
  const pub = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer)
  return {
    kind: 'ed25519',
    secret: `whsk_${toBase64(pkcs8.subarray(pkcs8.length - 32))}`,
    verify: `whpk_${toBase64(pub)}`,
  }
}
