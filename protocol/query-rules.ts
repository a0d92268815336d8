/**
 * What Serf refuses in a query, in one place: its internal names, tag filters its Go regexp
 * cannot run, and the size of the gossip message it encodes. The edge checks with it before
 * queueing; the client checks with it before sending.
 */
import { fromBase64, utf8 } from './bytes.ts'
import type { QueryRequest } from './query.ts'

/** Serf keeps names with this prefix for its own queries; its agent refuses them over RPC. */
export const SERF_INTERNAL_PREFIX = '_serf_'

/**
 * The largest `query_size_limit` the edge accepts. Serf sets no maximum, but a query travels
 * in one gossip packet (memberlist's 1,400-byte UDP buffer, less its framing): a query of 1,396
 * encoded bytes or more is dispatched and never reaches another node (measured on serf 0.8.2,
 * without gossip encryption; encryption takes 29 bytes more).
 */
export const MAX_QUERY_SIZE_LIMIT = 1395

/** The largest `query_response_size_limit` the edge accepts: what one relayed record carries. */
export const MAX_QUERY_RESPONSE_SIZE_LIMIT = 12_288

/**
 * The bound on the source node's name while no bridge has reported the cluster's members:
 * the query carries the name of the agent the bridge talks to, which the edge learns from them.
 */
export const DEFAULT_SOURCE_NAME_BYTES = 128

/** A query as Serf receives it over RPC. */
export interface SerfQuery {
  name: string
  payload: Uint8Array
  nodes: string[]
  tags: Record<string, string>
  /** 0: Serf's default. */
  timeoutMs: number
  requestAck: boolean
  relayFactor: number
}

/** Normalise a validated request into the query Serf will receive (acks on, as `serf query`). */
export function toSerfQuery(body: QueryRequest): SerfQuery {
  const payload = body.payloadBase64 !== undefined ? fromBase64(body.payloadBase64) : utf8(body.payload ?? '')
  return {
    name: body.name,
    payload,
    nodes: body.nodes ?? [],
    tags: body.tags ?? {},
    timeoutMs: body.timeoutMs ?? 0,
    requestAck: body.requestAck ?? true,
    relayFactor: body.relayFactor ?? 0,
  }
}

/**
 * Why Serf's nodes could not run `expr` as a tag filter, or undefined when they can. Serf
 * compiles it with Go's RE2 on every node and, when that fails, the node skips the query
 * silently ("failed to compile filter regex"). Checked here: what JavaScript cannot compile
 * (after Go's flag groups such as `(?i)`, which it lacks), and RE2's refusals that JavaScript
 * accepts: lookahead, lookbehind and backreferences. Other rare differences are not caught.
 * @example tagPatternProblem('^web-(?<!x)') // 'uses lookbehind, which Go's regexp (RE2) does not support'
 */
export function tagPatternProblem(expr: string): string | undefined {
  try {
    new RegExp(expr.replace(/\(\?[imsU]+\)/g, '').replace(/\(\?[imsU]*-?[imsU]+:/g, '(?:'))
  } catch (error) {
    return `is not a valid regular expression (${(error as Error).message})`
  }
  let inClass = false
  for (let i = 0; i < expr.length; i++) {
    const ch = expr[i]
    if (ch === '\\') {
      const next = expr[i + 1] ?? ''
      // RE2 reads \1 to \7 followed by an octal digit as an octal escape, anything else as a backreference.
      if (/[1-9]/.test(next) && !/[0-7]/.test(expr[i + 2] ?? '')) return RE2_LACKS('backreferences')
      if (next === 'k' && expr[i + 2] === '<') return RE2_LACKS('named backreferences')
      i++
    } else if (inClass) {
      if (ch === ']') inClass = false
    } else if (ch === '[') {
      inClass = true
      if (expr[i + 1] === '^') i++
      if (expr[i + 1] === ']') i++
    } else if (expr.startsWith('(?=', i) || expr.startsWith('(?!', i)) {
      return RE2_LACKS('lookahead')
    } else if (expr.startsWith('(?<=', i) || expr.startsWith('(?<!', i)) {
      return RE2_LACKS('lookbehind')
    }
  }
  return undefined
}

const RE2_LACKS = (what: string) => `uses ${what}, which Go's regexp (RE2), as Serf runs it, does not support`

// Serf's codec (go-msgpack, old "raw" spec) writes strings and byte slices with a 1-byte header
// up to 31 bytes, 3 up to 65535, 5 beyond; arrays with 1 up to 15 entries, 3 up to 65535.
const raw = (bytes: number): number => (bytes < 32 ? 1 : bytes < 65_536 ? 3 : 5) + bytes
const arrayHeader = (entries: number): number => (entries < 16 ? 1 : entries < 65_536 ? 3 : 5)

/**
 * Bytes of `messageQuery` that do not depend on the query: the message type, the header of its
 * 11-field map, the field names (77 bytes), and the widest value of each number and of the
 * source address: LTime up to 9 bytes (the query clock only grows), ID 5, Addr 17 (an IPv6
 * address; IPv4 takes 5), Port 3, Flags 1, RelayFactor 1.
 */
const FIXED = 1 + 1 + 77 + 9 + 5 + 17 + 3 + 1 + 1

/** `Filters`: nil without filters, else an array of encoded filters, each a byte string. */
function filtersSize(query: Pick<SerfQuery, 'nodes' | 'tags'>): number {
  const filters: number[] = []
  if (query.nodes.length > 0) {
    // filterNodeType, then the names as an array of strings.
    const names = query.nodes.reduce((sum, node) => sum + raw(utf8(node).length), 0)
    filters.push(1 + arrayHeader(query.nodes.length) + names)
  }
  for (const [tag, expr] of Object.entries(query.tags)) {
    // filterTagType, then the struct {Tag, Expr} as a 2-entry map with its field names.
    filters.push(1 + 1 + raw(3) + raw(utf8(tag).length) + raw(4) + raw(utf8(expr).length))
  }
  if (filters.length === 0) return 1
  return arrayHeader(filters.length) + filters.reduce((sum, filter) => sum + raw(filter), 0)
}

// Timeout is an int64 of nanoseconds; 0 becomes Serf's default, which may be long. Newer codecs
// write it signed (5 bytes up to 2^31 - 1 ns), older ones unsigned (up to 2^32 - 1): take the first.
const timeoutSize = (timeoutMs: number): number => (timeoutMs > 0 && timeoutMs * 1e6 <= 0x7fff_ffff ? 5 : 9)

/**
 * The largest size of the gossip message Serf encodes for this query (serf/serf.go `Query`,
 * serf/messages.go `messageQuery`), which it refuses over `query_size_limit` ("query exceeds
 * limit of N bytes"). The message carries the source node's name: `sourceNameBytes` bounds it.
 */
export function serfQuerySizeBound(query: Omit<SerfQuery, 'requestAck'>, sourceNameBytes: number): number {
  return (
    FIXED +
    raw(sourceNameBytes) +
    filtersSize(query) +
    timeoutSize(query.timeoutMs) +
    raw(utf8(query.name).length) +
    raw(query.payload.length)
  )
}

/** Why a query does not fit a cluster: its encoded size, the limit, and the payload that fits. */
export interface QuerySizeExcess {
  /** {@link serfQuerySizeBound}. */
  size: number
  /** The cluster's `query_size_limit`. */
  limit: number
  /** Largest payload Serf always accepts with this name and these filters under `limit`. */
  maxPayload: number
  /** The source node name's length counted in `size`. */
  sourceNameBytes: number
}

/**
 * Serf's size rule for queries: null when Serf will accept the query under `limit`, otherwise
 * what is over.
 * @example checkQuerySize(toSerfQuery({ cluster: 'prod', name: 'uptime' }), 1024, 16) // null
 */
export function checkQuerySize(
  query: Omit<SerfQuery, 'requestAck'>,
  limit: number,
  sourceNameBytes: number,
): QuerySizeExcess | null {
  const size = serfQuerySizeBound(query, sourceNameBytes)
  if (size <= limit) return null
  const room = limit - (size - raw(query.payload.length))
  const maxPayload = room - 3 >= 32 ? room - 3 : Math.min(31, room - 1)
  return { size, limit, maxPayload: Math.max(0, maxPayload), sourceNameBytes }
}

/** The refusal text for a query over a cluster's limit: the limit, the size, the room, the name bound. */
export function describeQuerySizeExcess(
  cluster: string,
  excess: QuerySizeExcess,
  nameFrom: 'members' | 'default',
): string {
  const source =
    nameFrom === 'members'
      ? `the longest member name the bridge reported (${excess.sourceNameBytes} bytes)`
      : `${excess.sourceNameBytes} bytes, the edge's bound while no bridge has reported the cluster's members`
  return (
    `query encodes to up to ${excess.size} bytes in Serf's gossip message (name, payload, filters and the ` +
    `source node's name); cluster "${cluster}" has a Serf query_size_limit of ${excess.limit} bytes, which ` +
    `leaves room for at most ${excess.maxPayload} bytes of payload with this name and these filters. The ` +
    `source node's name is counted as ${source}`
  )
}
