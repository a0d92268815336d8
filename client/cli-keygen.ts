/** What `serf-edge keygen` prints: the key to keep and the exact lines that register it. */
import type { GeneratedKey } from '../protocol/signature.ts'
import { secretName } from '../protocol/wire.ts'

/**
 * The Worker secret that holds a sender's verify keys: `SENDER_KEYS_` + the sender id
 * upper-cased, every other character than A-Z and 0-9 as `_`.
 * @example senderSecretName('chat-ops') // → 'SENDER_KEYS_CHAT_OPS'
 */
export function senderSecretName(sender: string): string {
  return secretName('SENDER_KEYS', sender)
}

/** Where the new key goes; absent parts are shown as placeholders. */
export interface KeygenContext {
  key: GeneratedKey
  sender?: string
  cluster?: string
  edgeUrl?: string
  configPath: string
}

/** The JSON form of `keygen -json`. */
export function keygenJson({ key, sender }: KeygenContext): string {
  const secretName = sender === undefined ? undefined : senderSecretName(sender)
  const { kind: type, secret, verify } = key
  return `${JSON.stringify({ type, sender, secret, verify, secretName }, null, 2)}\n`
}

/** The human form: four numbered steps a reader can paste. */
export function keygenText({ key, sender, cluster, edgeUrl, configPath }: KeygenContext): string {
  const secretName = sender === undefined ? 'SENDER_KEYS_<SENDER>' : senderSecretName(sender)
  // keygen admits only sender ids in the cluster-id alphabet: all are bare TOML keys.
  const tomlKey = sender ?? '"<sender>"'
  const clusters = JSON.stringify(cluster ?? '<cluster>')
  const verifier = key.kind === 'ed25519' ? 'the public key' : 'the key'
  const config = {
    edgeUrl: edgeUrl ?? 'https://<your-edge>.workers.dev',
    cluster: cluster ?? '<cluster>',
    sender: sender ?? '<sender>',
    key: key.secret,
  }
  const shared =
    key.kind === 'hmac' ? '#    (an hmac secret both signs and verifies: the edge holds the same string)\n' : ''
  return `# A new ${key.kind} key${sender ? ` for sender '${sender}'` : ''}.

# 1. The sender keeps this signing key secret (never commit it):
SERF_EDGE_KEY='${key.secret}'

# 2. The edge verifies with ${verifier}, in the Worker secret ${secretName}
#    (space-separated verify keys; while rolling a key over, keep the old one in it too):
${shared}printf '%s' '${key.verify}' | npx wrangler secret put ${secretName}
#    and for local development, in .dev.vars:
${secretName}="${key.verify}"

# 3. wrangler.toml lets the sender in, under [vars] (merge into an existing SENDERS;
#    narrow "events" to the event names it may fire, e.g. ["deploy", "restart-*"]):
SENDERS = { ${tomlKey} = { clusters = [${clusters}], events = ["*"] } }

# 4. The sender's config, in ${configPath}
#    (or the variables SERF_EDGE_URL, SERF_EDGE_CLUSTER, SERF_EDGE_SENDER, SERF_EDGE_KEY):
${JSON.stringify(config, null, 2)}
`
}
