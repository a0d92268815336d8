/** Byte helpers shared by the edge, the bridge and the client; WebCrypto-era APIs only. */

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false })

/** UTF-8 encode a string. */
export const utf8 = (text: string): Uint8Array<ArrayBuffer> => encoder.encode(text) as Uint8Array<ArrayBuffer>

/**
 * Strict UTF-8 decode; throws `TypeError` on invalid sequences.
 * @throws {TypeError} when `bytes` is not valid UTF-8
 */
export const fromUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes)

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Standard (padded) base64 of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

/** Unpadded base64url of `bytes` (RFC 4648 §5), as WebAuthn challenges and ids are written. */
export const toBase64Url = (bytes: Uint8Array): string =>
  toBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/**
 * Decode base64url, padded or not.
 * @throws {Base64Error}
 */
export function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*={0,2}$/.test(text)) throw new Base64Error('not valid base64url')
  const standard = text.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/')
  return fromBase64(standard.padEnd(standard.length + ((4 - (standard.length % 4)) % 4), '='))
}

/** Error thrown for text that is not canonical padded base64. */
export class Base64Error extends Error {
  override name = 'Base64Error'
}

/**
 * Decode standard padded base64, refusing anything else (URL-safe alphabet, whitespace,
 * missing padding), so a sender's mistake is an error and never a silently different payload.
 * @throws {Base64Error}
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (!BASE64.test(text)) throw new Base64Error('not valid base64 (standard alphabet, padded)')
  const binary = atob(text)
  const out = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i)
  return out
}

/** Lower-case hex SHA-256 of `data`. */
export async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === 'string' ? utf8(data) : data
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}
