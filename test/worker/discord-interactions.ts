/**
 * Discord interactions for the worker tests, signed here as Discord signs them (Ed25519 over
 * the timestamp followed by the body), with WebCrypto and the key made for this run: never with
 * the edge's own verifier.
 */
import { env, exports } from 'cloudflare:workers'
import type { AuditPage, AuditRecord } from '../../protocol/audit.ts'
import { EDGE, get } from './helpers.ts'

export const ids = env.TEST_DISCORD.ids
export const INTERACTIONS = `/v1/discord/ops/interactions`

const PKCS8 = Uint8Array.from(atob(env.TEST_DISCORD.privateKeyPkcs8), (c) => c.charCodeAt(0))
const appKey = crypto.subtle.importKey('pkcs8', PKCS8, { name: 'Ed25519' }, false, ['sign'])

/** A key Discord does not know: what its probes and forgers sign with. */
export async function strangerKey(): Promise<CryptoKey> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair
  return pair.privateKey
}

const hex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('')

/** Hex Ed25519 signature over `timestamp` followed by `body`. */
export async function sign(timestamp: string, body: Uint8Array, key?: CryptoKey): Promise<string> {
  const stamp = new TextEncoder().encode(timestamp)
  const message = new Uint8Array(stamp.length + body.length)
  message.set(stamp)
  message.set(body, stamp.length)
  return hex(await crypto.subtle.sign({ name: 'Ed25519' }, key ?? (await appKey), message))
}

export const nowSeconds = () => Math.floor(Date.now() / 1000)

export interface SendOptions {
  /** Unix seconds to sign and send; default now. */
  timestamp?: number
  /** Sign with this key instead of the app's. */
  key?: CryptoKey
  /** Change the bytes after signing them. */
  tamper?: (bytes: Uint8Array) => Uint8Array
  /** Headers replacing the signed ones (`undefined` drops one). */
  headers?: Record<string, string | undefined>
  app?: string
}

/** POST an interaction (an object, or exact bytes) to the edge, signed unless told otherwise. */
export async function send(interaction: object | Uint8Array, options: SendOptions = {}): Promise<Response> {
  const bytes = interaction instanceof Uint8Array ? interaction : new TextEncoder().encode(JSON.stringify(interaction))
  const timestamp = String(options.timestamp ?? nowSeconds())
  const signed: Record<string, string | undefined> = {
    'content-type': 'application/json',
    'x-signature-ed25519': await sign(timestamp, bytes, options.key),
    'x-signature-timestamp': timestamp,
    ...options.headers,
  }
  const headers = Object.fromEntries(Object.entries(signed).filter((entry): entry is [string, string] => !!entry[1]))
  const path = options.app ? `/v1/discord/${options.app}/interactions` : INTERACTIONS
  return exports.default.fetch(`${EDGE}${path}`, { method: 'POST', body: options.tamper?.(bytes) ?? bytes, headers })
}

let counter = 0
/** A fresh snowflake-shaped id (interaction ids, tokens). */
export const snowflake = (): string => `${1_600_000_000_000_000_000n + BigInt(Date.now()) * 1000n + BigInt(++counter)}`

export interface Where {
  guild?: string | null
  channel?: string
  roles?: string[]
}

function base(type: number, user: string, where: Where) {
  const guild = where.guild === undefined ? ids.guild : where.guild
  const who = guild
    ? { guild_id: guild, member: { user: { id: user, username: `user-${user}` }, roles: where.roles ?? [] } }
    : { user: { id: user, username: `user-${user}` } }
  return {
    id: snowflake(),
    application_id: ids.application,
    type,
    token: `tok_${snowflake()}`,
    channel_id: where.channel ?? ids.stagingChannel,
    version: 1,
    ...who,
  }
}

/** `/serf text:<text>` by `user`; no `text` option at all when `text` is undefined. */
export function command(user: string, text: string | undefined, where: Where = {}) {
  const options = text === undefined ? [] : [{ name: 'text', type: 3, value: text }]
  return { ...base(2, user, where), data: { id: '1700000000000000001', name: 'serf', type: 1, options } }
}

/** A click by `user` on the button with `customId`. */
export function click(user: string, customId: string, where: Where = {}) {
  return { ...base(3, user, where), message: { id: snowflake() }, data: { custom_id: customId, component_type: 2 } }
}

/** What the edge answers an interaction with. */
export interface Answer {
  type: number
  data?: {
    content: string
    flags?: number
    components: { type: number; components: { type: number; style: number; label: string; custom_id: string }[] }[]
    allowed_mentions: { parse: string[] }
  }
}

/** Send `interaction` signed and return the answer, which must be a 200. */
export async function interact(interaction: object): Promise<Answer> {
  const res = await send(interaction)
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return (await res.json()) as Answer
}

/** The buttons of an answer, by label. */
export function buttons(answer: Answer): Record<string, { style: number; custom_id: string }> {
  const all = answer.data?.components.flatMap((row) => row.components) ?? []
  return Object.fromEntries(all.map((b) => [b.label, b]))
}

/** The audit trail of `cluster` after `after`, read as sender `ci`. */
export async function auditOf(cluster: string, after = 0): Promise<AuditRecord[]> {
  const res = await get(`/v1/clusters/${cluster}/audit?after=${after}&limit=500`)
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return ((await res.json()) as AuditPage).records
}

/** The position of the last record of `cluster`'s trail now: a test reads what comes after it. */
export async function auditMark(cluster: string): Promise<number> {
  return (await auditOf(cluster)).at(-1)?.seq ?? 0
}

/** `discord:<guild>:<user>`, the principal id the audit trail records. */
export const principal = (user: string, guild = ids.guild) => `discord:${guild}:${user}`
