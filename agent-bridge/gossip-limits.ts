/**
 * What a Serf cluster's gossip can repair and carry, from its timing profile and its members:
 * the pace the bridge keeps (pacer.ts). Every constant is Serf's or memberlist's own, unchanged
 * since 2014 (read in hashicorp/memberlist @1b4c746 and hashicorp/serf @a24f620 and v0.8.2):
 *
 * - **Repair.** Push/pull is Serf's only anti-entropy: each node, every push/pull interval,
 *   swaps its event buffer with a random peer (serf/delegate.go LocalState, MergeRemoteState).
 *   The buffer keeps the newest 512 Lamport slots (`EventBuffer`, serf/config.go), and a node
 *   drops an event 512 ticks older than its clock (`received old event`, serf/serf.go
 *   handleUserEvent). A node that missed an event in gossip therefore gets it back only if
 *   its next push/pull comes before 512 more events: at most 512 / interval events per second.
 * - **Interval.** 30 s `lan`, 60 s `wan`, 15 s `local` (memberlist/config.go Default*Config;
 *   the agent's `-profile` picks one, serf/cmd/serf/command/agent/command.go), scaled by
 *   memberlist above 32 nodes: × (ceil(log2 n − log2 32) + 1), ×2 up to 64, ×3 up to 128
 *   (memberlist/util.go pushPullScale, state.go pushPullTrigger). Its n counts nodes alive,
 *   suspect, or dead for less than GossipToTheDeadTime (one interval); the RPC shows alive ones.
 * - **Carry.** Each GossipInterval a node sends one UDP packet to each of GossipNodes random
 *   live peers, filled with broadcasts up to 1400 − 2 bytes, less 29 with encryption, each
 *   event costing its encoded size + 3 (memberlist/state.go gossip, net.go, broadcast.go,
 *   security.go encryptOverhead). Every node, not only the sender, sends every event
 *   RetransmitMult × ceil(log10(known + 1)) times, where known counts failed and left members
 *   too (serf/serf.go NumNodes, memberlist/util.go retransmitLimit). Probes carry broadcasts
 *   as well, so this is a floor of what gossip carries (measured: 303/s against 280/s for
 *   small events, 3 `local` nodes).
 */

/** The agents' `-profile`: Serf's timing presets. */
export type GossipProfile = 'lan' | 'wan' | 'local'

export const GOSSIP_PROFILES: readonly GossipProfile[] = ['lan', 'wan', 'local']

interface ProfileTiming {
  pushPullMs: number
  gossipIntervalMs: number
  gossipNodes: number
  retransmitMult: number
}

const TIMING: Record<GossipProfile, ProfileTiming> = {
  lan: { pushPullMs: 30_000, gossipIntervalMs: 200, gossipNodes: 3, retransmitMult: 4 },
  wan: { pushPullMs: 60_000, gossipIntervalMs: 500, gossipNodes: 4, retransmitMult: 4 },
  local: { pushPullMs: 15_000, gossipIntervalMs: 100, gossipNodes: 3, retransmitMult: 2 },
}

/** Serf's `EventBuffer`: Lamport slots an event stays repairable for. */
export const EVENT_BUFFER = 512

/**
 * The share of each limit the pacer uses. The other 5 % (0.75 s of a 15 s interval, 1.5 s of
 * 30 s, about 25 of the 512 slots) covers what the model leaves out: the push/pull exchange
 * itself (milliseconds on a LAN; the next timer starts after it), the few gossip rounds before a
 * miss is settled (100–200 ms each), the pacer's own slack (at most 4 slots owed after idling)
 * and a few events other sources fire into the same 512 slots. At 90 % the bridge delivered
 * 97 % of its aim and so missed the target of 90 % of the repair-safe rate (start-up, batch
 * boundaries, waits for Serf's queue); 95 % meets it and still never exceeds the safe rate.
 * A cluster where other sources fire many events as well needs `-max-rate` below this.
 */
export const LIMIT_SHARE = 0.95

const PUSH_PULL_SCALE_THRESHOLD = 32
const UDP_BUFFER = 1400
const COMPOUND_HEADER = 2
const ENCRYPT_OVERHEAD = 29
/** Per broadcast: the compound entry's length (2) and the user-message type byte (1). */
const PER_MESSAGE = 3

/** The cluster as the pacer sees it in the agent's `stats`. */
export interface ClusterView {
  profile: GossipProfile
  /** Members alive or leaving: memberlist's node count, which scales push/pull. */
  alive: number
  /** Every member Serf knows, failed and left ones too: sets how often each event is resent. */
  known: number
  /** Gossip is encrypted (`serf.encrypted`): 29 bytes less per packet. */
  encrypted: boolean
}

/** The pace the cluster allows, and what it comes from. */
export interface Pace {
  /** Events per second the bridge keeps: {@link LIMIT_SHARE} of `repairRate`. */
  rate: number
  /** {@link EVENT_BUFFER} per push/pull interval: the most events/s whose misses all get repaired. */
  repairRate: number
  /** The push/pull interval after memberlist's scaling. */
  pushPullMs: number
  /** The scaling factor above 32 members (1 up to 32). */
  pushPullScale: number
  /** Largest encoded event gossip carries at `rate`; larger events are spaced further apart. */
  fullRateBytes: number
}

/**
 * memberlist's push/pull interval for `members` nodes (util.go pushPullScale).
 * @example pushPullIntervalMs('lan', 100) // 90_000
 */
export function pushPullIntervalMs(profile: GossipProfile, members: number): number {
  return TIMING[profile].pushPullMs * pushPullScale(members)
}

function pushPullScale(members: number): number {
  if (members <= PUSH_PULL_SCALE_THRESHOLD) return 1
  return Math.ceil(Math.log2(members) - Math.log2(PUSH_PULL_SCALE_THRESHOLD)) + 1
}

/**
 * The most events per second whose gossip misses push/pull can all still repair (no margin).
 * @example repairSafeRate('lan', 3) // 17.07 (512 / 30 s)
 */
export function repairSafeRate(profile: GossipProfile, members: number): number {
  return EVENT_BUFFER / (pushPullIntervalMs(profile, members) / 1000)
}

/**
 * Events per second of `encodedBytes` each node can gossip as often as Serf resends them (no
 * margin); Infinity with no live peer (nothing gossips).
 * @example gossipRate({ profile: 'lan', alive: 3, known: 3, encrypted: false }, 512) // 5
 */
export function gossipRate(view: ClusterView, encodedBytes: number): number {
  const peers = Math.min(TIMING[view.profile].gossipNodes, members(view.alive) - 1)
  if (peers < 1) return Number.POSITIVE_INFINITY
  const { gossipIntervalMs, retransmitMult } = TIMING[view.profile]
  const perPacket = Math.floor(packetBudget(view) / (encodedBytes + PER_MESSAGE))
  const transmits = retransmitMult * Math.ceil(Math.log10(members(view.known) + 1))
  return (peers * perPacket * 1000) / (gossipIntervalMs * transmits)
}

/** The pace for a cluster: the repair-safe rate with margin, and up to what event size it holds. */
export function paceFor(view: ClusterView): Pace {
  const alive = members(view.alive)
  const repairRate = repairSafeRate(view.profile, alive)
  const rate = LIMIT_SHARE * repairRate
  return {
    rate,
    repairRate,
    pushPullMs: pushPullIntervalMs(view.profile, alive),
    pushPullScale: pushPullScale(alive),
    fullRateBytes: fullRateBytes(view, rate),
  }
}

/**
 * Milliseconds between this event and the next: the pace, or longer when gossip carries fewer
 * events of this size per second.
 */
export function eventGapMs(view: ClusterView, rate: number, encodedBytes: number): number {
  return 1000 / Math.min(rate, LIMIT_SHARE * gossipRate(view, encodedBytes))
}

/**
 * The operator's reading of a pace: what it is and why.
 * @example describePace(view, paceFor(view))
 * // 'pace 16.2/s: lan profile, 3 members, push/pull every 30 s, 512-event buffer (95 % of 17.1/s); …'
 */
export function describePace(view: ClusterView, pace: Pace): string {
  const size = Number.isFinite(pace.fullRateBytes)
    ? `; events over ${pace.fullRateBytes} bytes encoded go slower, as gossip carries fewer of them`
    : ''
  return `pace ${pace.rate.toFixed(1)}/s: ${paceReason(view, pace)} (${LIMIT_SHARE * 100} % of ${pace.repairRate.toFixed(1)}/s)${size}`
}

/**
 * What a pace comes from.
 * @example paceReason(view, paceFor(view)) // 'lan profile, 3 members, push/pull every 30 s, 512-event buffer'
 */
export function paceReason(view: ClusterView, pace: Pace): string {
  const alive = members(view.alive)
  const base = TIMING[view.profile].pushPullMs / 1000
  const interval =
    pace.pushPullScale > 1
      ? `${pace.pushPullMs / 1000} s (${base} s ×${pace.pushPullScale} above ${PUSH_PULL_SCALE_THRESHOLD} members)`
      : `${base} s`
  return (
    `${view.profile} profile, ${alive} member${alive === 1 ? '' : 's'}, ` +
    `push/pull every ${interval}, ${EVENT_BUFFER}-event buffer`
  )
}

function packetBudget(view: ClusterView): number {
  return UDP_BUFFER - COMPOUND_HEADER - (view.encrypted ? ENCRYPT_OVERHEAD : 0)
}

/** Largest encoded size whose gossip rate, with margin, still reaches `rate`. */
function fullRateBytes(view: ClusterView, rate: number): number {
  if (!Number.isFinite(gossipRate(view, 0))) return Number.POSITIVE_INFINITY
  // gossipRate is proportional to the events per packet: find the fewest that reach `rate`.
  const perEventPerPacket = gossipRate(view, packetBudget(view) - PER_MESSAGE)
  const needed = Math.ceil(rate / (LIMIT_SHARE * perEventPerPacket) - 1e-9)
  return Math.max(0, Math.floor(packetBudget(view) / needed) - PER_MESSAGE)
}

/** A member count the agent reported, at least this node. */
function members(count: number): number {
  return Number.isFinite(count) && count >= 1 ? count : 1
}
