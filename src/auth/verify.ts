/**
 * Request authentication: Standard Webhooks signatures by senders (keys named by the
 * `serf-edge-sender` header) and by bridges (the cluster's bridge keys).
 */
import type { Context } from 'hono'
import { fromUtf8 } from '../../protocol/bytes.ts'
import { SignatureError, type VerifyKey, verifySignature } from '../../protocol/signature.ts'
import { SENDER_HEADER } from '../../protocol/wire.ts'
import type { EdgeConfig, SenderConfig } from '../config.ts'
import { ProblemError } from '../problem.ts'

/**
 * What a request signs: its body as the bytes received, or for a request without one, its path
 * and query (so a signed read cannot be pointed at another resource).
 */
export async function signedPayload(c: Context): Promise<string | Uint8Array> {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') {
    const url = new URL(c.req.url)
    return url.pathname + url.search
  }
  return new Uint8Array(await c.req.arrayBuffer())
}

async function verify(c: Context, keys: VerifyKey[], who: string): Promise<void> {
  const payload = await signedPayload(c)
  try {
    await verifySignature(
      keys,
      {
        id: c.req.header('webhook-id') ?? null,
        timestamp: c.req.header('webhook-timestamp') ?? null,
        signature: c.req.header('webhook-signature') ?? null,
      },
      payload,
    )
  } catch (error) {
    if (error instanceof SignatureError) {
      throw new ProblemError('unauthenticated', `${who}: ${error.message}`, {
        headers: { 'www-authenticate': 'Signature realm="serf-edge"' },
      })
    }
    throw error
  }
  // JSON travels as UTF-8 (RFC 8259). Signed bytes that are not would reach the parser with
  // replacement characters in place of what the sender signed: refuse them instead. A leading
  // byte-order mark is valid UTF-8 and is ignored by the parser.
  if (typeof payload !== 'string' && !isUtf8(payload)) {
    throw new ProblemError('malformed-json', 'request body is not valid UTF-8')
  }
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    fromUtf8(bytes)
    return true
  } catch {
    return false
  }
}

/**
 * Verify a sender's request and return the sender.
 * @throws {ProblemError} 401 for a missing or unknown sender and for any signature failure
 */
export async function authenticateSender(c: Context, config: EdgeConfig): Promise<SenderConfig> {
  const id = c.req.header(SENDER_HEADER)
  if (!id) {
    throw new ProblemError('unauthenticated', `missing ${SENDER_HEADER} header naming the sender`)
  }
  const sender = config.senders.get(id)
  // The same answer for an unknown sender and a bad signature would hide which senders exist,
  // but operators debugging a rollout need to know; the sender id is not a secret.
  if (!sender) throw new ProblemError('unauthenticated', `unknown sender "${id}"`)
  await verify(c, sender.keys, `sender "${id}"`)
  return sender
}

/**
 * Verify a bridge's request against the cluster's bridge keys.
 * @throws {ProblemError} 401 on any signature failure
 */
export async function authenticateBridge(c: Context, config: EdgeConfig, cluster: string): Promise<void> {
  const keys = config.bridgeKeys.get(cluster)
  if (!keys) throw new ProblemError('unknown-cluster', `unknown cluster "${cluster}"`)
  await verify(c, keys, `bridge of cluster "${cluster}"`)
}
