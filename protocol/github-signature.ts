/**
 * GitHub's webhook signature, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`,
 * verified on WebCrypto over the raw bytes received.
 *
 * Not `@octokit/webhooks-methods`: both its builds take the body as a string, so the edge would
 * have to decode the bytes and encode them again (a byte-order mark or an invalid sequence would
 * then be verified as something other than what GitHub signed); its `default` export condition
 * is the build needing `node:crypto`; and its web build reads any hex pairs out of the header
 * rather than refusing a malformed one.
 */

/** The header carrying the signature; GitHub's SHA-1 `X-Hub-Signature` is not accepted. */
export const GITHUB_SIGNATURE_HEADER = 'x-hub-signature-256'

/** WebCrypto's key type, named as protocol/signature.ts does (Node's types lack `CryptoKey`). */
export type GithubSecretKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>

/** Thrown when a delivery's signature does not verify; the message is safe to show. */
export class GithubSignatureError extends Error {
  override name = 'GithubSignatureError'
}

const SIGNATURE = /^sha256=([0-9a-f]{64})$/

/**
 * A webhook secret as GitHub uses it: its UTF-8 bytes are the HMAC key.
 * @example await importGithubSecret("It's a Secret to Everybody")
 */
export function importGithubSecret(secret: string): Promise<GithubSecretKey> {
  const raw = new TextEncoder().encode(secret)
  return crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
}

/**
 * Verify `header` over `body`, the bytes exactly as received. `crypto.subtle.verify` compares in
 * constant time.
 * @throws {GithubSignatureError} when the header is missing, malformed or does not match
 */
export async function verifyGithubSignature(
  key: GithubSecretKey,
  header: string | null | undefined,
  body: Uint8Array<ArrayBuffer>,
): Promise<void> {
  if (!header) {
    throw new GithubSignatureError('no X-Hub-Signature-256 header: give the webhook a secret in its settings')
  }
  const hex = SIGNATURE.exec(header.trim())?.[1]
  if (!hex) throw new GithubSignatureError('X-Hub-Signature-256 is not sha256=<64 lower-case hex digits>')
  const mac = Uint8Array.from({ length: 32 }, (_, i) => Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16))
  if (!(await crypto.subtle.verify('HMAC', key, mac, body))) {
    throw new GithubSignatureError("X-Hub-Signature-256 does not match the body and the hook's secret")
  }
}
