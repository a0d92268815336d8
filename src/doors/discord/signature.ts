/**
 * Discord's interaction signature: Ed25519 over `X-Signature-Timestamp` followed by the raw
 * body, with the application's public key, verified on WebCrypto over the bytes as received.
 *
 * Not `discord-interactions`' `verifyKey`: it checks no timestamp freshness (a captured
 * interaction would verify forever), answers every failure, a malformed header included, with
 * the same `false`, and imports the key on every call; the edge imports it once with the
 * configuration and needs the freshness window anyway.
 */

/** How far `X-Signature-Timestamp` may be from the edge's clock, both directions. */
export const DISCORD_TOLERANCE_S = 5 * 60

/** WebCrypto's key type, named as protocol/signature.ts does. */
export type DiscordPublicKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** Thrown when an interaction's signature does not verify; the message is safe to log. */
export class DiscordSignatureError extends Error {
  override name = 'DiscordSignatureError'
}

/** Thrown for a public key that is not 64 hex digits. */
export class DiscordKeyError extends Error {
  override name = 'DiscordKeyError'
}

const hexBytes = (hex: string) =>
  Uint8Array.from({ length: hex.length / 2 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16))

/**
 * The application's public key as the Developer Portal shows it (32 bytes in hex).
 * @throws {DiscordKeyError}
 */
export function importDiscordKey(hex: string): Promise<DiscordPublicKey> {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new DiscordKeyError('a Discord public key is 64 hex digits')
  return crypto.subtle.importKey('raw', hexBytes(hex), { name: 'Ed25519' }, false, ['verify'])
}

/** The two headers Discord signs with. */
export interface DiscordSignatureHeaders {
  signature: string | undefined
  timestamp: string | undefined
}

/**
 * Verify an interaction: the timestamp within {@link DISCORD_TOLERANCE_S} of `nowSeconds`, and
 * the signature over the timestamp's bytes followed by `body`, exactly as received.
 * @throws {DiscordSignatureError} naming the failed check
 */
export async function verifyDiscordSignature(
  key: DiscordPublicKey,
  headers: DiscordSignatureHeaders,
  body: Uint8Array,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<void> {
  const { signature, timestamp } = headers
  if (!signature || !timestamp) {
    throw new DiscordSignatureError('missing X-Signature-Ed25519 or X-Signature-Timestamp header')
  }
  if (!/^\d{1,12}$/.test(timestamp)) throw new DiscordSignatureError('X-Signature-Timestamp is not unix seconds')
  const skew = Number(timestamp) - nowSeconds
  if (skew < -DISCORD_TOLERANCE_S) throw new DiscordSignatureError('X-Signature-Timestamp is over 5 minutes old')
  if (skew > DISCORD_TOLERANCE_S) throw new DiscordSignatureError('X-Signature-Timestamp is in the future')
  if (!/^[0-9a-fA-F]{128}$/.test(signature))
    throw new DiscordSignatureError('X-Signature-Ed25519 is not 64 bytes in hex')
  const stamp = new TextEncoder().encode(timestamp)
  const message = new Uint8Array(stamp.length + body.length)
  message.set(stamp)
  message.set(body, stamp.length)
  if (!(await crypto.subtle.verify({ name: 'Ed25519' }, key, hexBytes(signature), message))) {
    throw new DiscordSignatureError("X-Signature-Ed25519 does not match the body and the application's public key")
  }
}
