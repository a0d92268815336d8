/**
 * Slack's request signature: `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret,
 * "v0:" + X-Slack-Request-Timestamp + ":" + body)>`, verified on WebCrypto over the raw bytes.
 *
 * Not slack-edge's verifier: it takes the body as a string (the bytes decoded and encoded again
 * are not always the bytes Slack signed) and refuses only timestamps too far in the past, so a
 * request stamped in the future stays valid for as long as its stamp is ahead.
 */

/** How far `X-Slack-Request-Timestamp` may be from the edge's clock, both directions (Bolt's 5 minutes). */
export const SLACK_TOLERANCE_S = 5 * 60

/** WebCrypto's key type, named as protocol/signature.ts does. */
export type SlackSigningKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** Thrown when a request's signature does not verify; the message is safe to log and answer. */
export class SlackSignatureError extends Error {
  override name = 'SlackSignatureError'
}

/** The two headers Slack signs with. */
export interface SlackSignatureHeaders {
  signature: string | undefined
  timestamp: string | undefined
}

const SIGNATURE = /^v0=([0-9a-f]{64})$/

/**
 * The app's Signing Secret (Basic Information → App Credentials): its UTF-8 bytes are the key.
 * @example await importSlackSigningSecret('8f742231b10e8888abcd99yyyzzz85a5')
 */
export function importSlackSigningSecret(secret: string): Promise<SlackSigningKey> {
  return crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'verify',
  ])
}

/**
 * Verify a request: the timestamp within {@link SLACK_TOLERANCE_S} of `nowSeconds`, and the
 * signature over `v0:<timestamp>:` followed by `body`, exactly as received.
 * `crypto.subtle.verify` compares in constant time.
 * @throws {SlackSignatureError} naming the failed check
 */
export async function verifySlackSignature(
  key: SlackSigningKey,
  headers: SlackSignatureHeaders,
  body: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<void> {
  const { signature, timestamp } = headers
  if (!signature || !timestamp) {
    throw new SlackSignatureError('missing X-Slack-Signature or X-Slack-Request-Timestamp header')
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new SlackSignatureError('X-Slack-Request-Timestamp is not unix seconds')
  const skew = Number(timestamp) - nowSeconds
  if (skew < -SLACK_TOLERANCE_S) throw new SlackSignatureError('X-Slack-Request-Timestamp is over 5 minutes old')
  if (skew > SLACK_TOLERANCE_S) throw new SlackSignatureError('X-Slack-Request-Timestamp is over 5 minutes ahead')
  const hex = SIGNATURE.exec(signature.trim())?.[1]
  if (!hex) throw new SlackSignatureError('X-Slack-Signature is not v0=<64 lower-case hex digits>')
  const mac = Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16))
  const prefix = new TextEncoder().encode(`v0:${timestamp}:`)
  const signed = new Uint8Array(prefix.length + body.length)
  signed.set(prefix)
  signed.set(body, prefix.length)
  if (!(await crypto.subtle.verify('HMAC', key, mac, signed))) {
    throw new SlackSignatureError("X-Slack-Signature does not match the body and the app's signing secret")
  }
}
