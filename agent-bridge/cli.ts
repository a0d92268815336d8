/**
 * `agent-bridge`: parse flags and environment into one config, then run the {@link Bridge}.
 * Flags follow Serf's CLI (`-rpc-addr`, `-rpc-auth`, also `--flag` and `-flag=value`).
 */

import { readFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import { formatDuration, parseDuration } from '../protocol/duration.ts'
import { CLUSTER_ID } from '../protocol/event.ts'
import { parseFlags, UsageError } from '../protocol/flags.ts'
import { importSignKey, KeyFormatError, type SignKey } from '../protocol/signature.ts'
import { MAX_POLL_WAIT_MS } from '../protocol/wire.ts'
import { Bridge, BridgeFatalError } from './bridge.ts'
import { CursorFileError, CursorStore } from './cursor-store.ts'
import { EdgeClient } from './edge-client.ts'
import { GOSSIP_PROFILES, type GossipProfile } from './gossip-limits.ts'
import { BridgeMetrics, serveMetrics } from './metrics.ts'
import { SerfRpcClient } from './serf-rpc.ts'

export const HELP = `Usage: agent-bridge [options]

  Delivers the events queued at a serf-edge for one cluster into the local Serf agent,
  in queue order, runs the queries asked there (serf query) and reports the cluster's
  members, over outbound HTTPS only. Runs until SIGTERM or SIGINT.

Options (each also from the environment variable shown):

  -edge-url=URL           Edge base URL, e.g. https://serf-edge.example.com   SERF_EDGE_URL
  -cluster=ID             Cluster this bridge serves                           SERF_EDGE_CLUSTER
  -bridge-key=KEY         Bridge signing key (whsec_... or whsk_...)           SERF_EDGE_BRIDGE_KEY
  -bridge-key-file=PATH   Read the bridge key from a file instead              SERF_EDGE_BRIDGE_KEY_FILE
  -rpc-addr=ADDR          Serf agent RPC address (default 127.0.0.1:7373)      SERF_RPC_ADDR
  -rpc-auth=TOKEN         Serf RPC auth token, if the agent sets rpc_auth      SERF_RPC_AUTH
  -cursor-file=PATH       Where the cursor is kept (default                    SERF_EDGE_CURSOR_FILE
                          $STATE_DIRECTORY or . / serf-edge-<cluster>.cursor.json)
  -bridge-id=NAME         This bridge's name in leases and logs                 SERF_EDGE_BRIDGE_ID
                          (default <hostname>-<pid>; must differ between bridges)
  -batch-size=N           Events per poll, 1..1000 (default 256)               SERF_EDGE_BATCH_SIZE
  -gossip-profile=NAME    The agents' Serf -profile: lan (default), wan or    SERF_EDGE_GOSSIP_PROFILE
                          local. With the live member count it sets the pace:
                          95 % of the 512 events per push/pull interval that
                          Serf can repair after a gossip miss (16.2/s lan,
                          32.4/s local with 3 nodes; slower above 32 members
                          and for events too large for gossip to carry)
  -max-rate=N             Events/s instead of that pace (0 = no cap). Above   SERF_EDGE_MAX_RATE
                          it, an event that gossip misses on a node may never
                          reach it; and each node's handlers must keep up
  -max-event-queue=N      Pace so Serf's event queue stays under N (default    SERF_EDGE_MAX_EVENT_QUEUE
                          32, about one gossip packet)
  -poll-wait=DURATION     Long-poll wait (default and most ${formatDuration(MAX_POLL_WAIT_MS)})                SERF_EDGE_POLL_WAIT
  -metrics-addr=ADDR      /metrics and /healthz (default 127.0.0.1:9464;        SERF_EDGE_METRICS_ADDR
                          empty disables)
  -log-level=LEVEL        trace, debug, info, warn, error (default info)        SERF_EDGE_LOG_LEVEL

Exit codes: 0 stopped by a signal, 1 bad flags or configuration, 2 refused by the edge or
the Serf agent (wrong key, unknown cluster, wrong RPC token).
`

const SPEC = {
  'edge-url': 'string',
  cluster: 'string',
  'bridge-key': 'string',
  'bridge-key-file': 'string',
  'rpc-addr': 'string',
  'rpc-auth': 'string',
  'cursor-file': 'string',
  'bridge-id': 'string',
  'batch-size': 'string',
  'max-event-queue': 'string',
  'poll-wait': 'string',
  'max-rate': 'string',
  'gossip-profile': 'string',
  'metrics-addr': 'string',
  'log-level': 'string',
  help: 'boolean',
  h: 'boolean',
} as const

/** Everything the bridge process needs, resolved from flags and environment. */
export interface BridgeConfig {
  edgeUrl: string
  cluster: string
  bridgeKeys: string[]
  rpcAddr: string
  rpcAuth: string
  cursorFile: string
  bridgeId: string
  batchSize: number
  maxEventQueue: number
  gossipProfile: GossipProfile
  /** Events per second instead of the cluster's pace (0 = no cap); null: the cluster's pace. */
  maxRate: number | null
  pollWaitMs: number
  metricsAddr: string
  logLevel: string
}

/**
 * Resolve flags over environment over defaults.
 * @throws {UsageError} naming the missing or malformed setting
 */
export async function resolveConfig(
  argv: readonly string[],
  env: Record<string, string | undefined>,
): Promise<BridgeConfig | 'help'> {
  const { flags, positionals } = parseFlags(argv, SPEC)
  if (flags.help || flags.h) return 'help'
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`)
  const pick = (flag: keyof typeof SPEC, name: string) => (flags[flag] as string | undefined) ?? env[name]
  const need = (flag: keyof typeof SPEC, name: string) => {
    const value = pick(flag, name)
    if (!value) throw new UsageError(`-${flag} is required (or set ${name})`)
    return value
  }
  const int = (flag: keyof typeof SPEC, name: string, fallback: number, min: number, max: number) => {
    const text = pick(flag, name)
    if (text === undefined) return fallback
    const value = Number(text)
    if (!Number.isInteger(value) || value < min || value > max)
      throw new UsageError(`-${flag} must be a whole number from ${min} to ${max}, got "${text}"`)
    return value
  }
  const edgeUrl = need('edge-url', 'SERF_EDGE_URL')
  if (!/^https?:\/\//.test(edgeUrl)) throw new UsageError(`-edge-url must be an http(s) URL, got "${edgeUrl}"`)
  const cluster = need('cluster', 'SERF_EDGE_CLUSTER')
  if (!CLUSTER_ID.test(cluster)) throw new UsageError(`-cluster "${cluster}" is not a cluster id (${CLUSTER_ID})`)
  let keyText = pick('bridge-key', 'SERF_EDGE_BRIDGE_KEY')
  const keyFile = pick('bridge-key-file', 'SERF_EDGE_BRIDGE_KEY_FILE')
  if (!keyText && keyFile)
    keyText = await readFile(keyFile, 'utf8').catch((e: Error) => {
      throw new UsageError(`cannot read -bridge-key-file ${keyFile}: ${e.message}`)
    })
  if (!keyText?.trim())
    throw new UsageError('-bridge-key or -bridge-key-file is required (or set SERF_EDGE_BRIDGE_KEY)')
  const gossipProfile = pick('gossip-profile', 'SERF_EDGE_GOSSIP_PROFILE') || 'lan'
  if (!isGossipProfile(gossipProfile))
    throw new UsageError(`-gossip-profile must be one of ${GOSSIP_PROFILES.join(', ')}, got "${gossipProfile}"`)
  const maxRateText = pick('max-rate', 'SERF_EDGE_MAX_RATE')
  const maxRate = maxRateText ? Number(maxRateText) : null
  if (maxRate !== null && !(maxRate >= 0 && maxRate <= 1_000_000))
    throw new UsageError(`-max-rate must be a number of events per second from 0 to 1000000, got "${maxRateText}"`)
  let pollWaitMs = MAX_POLL_WAIT_MS
  const pollWait = pick('poll-wait', 'SERF_EDGE_POLL_WAIT')
  if (pollWait) {
    try {
      pollWaitMs = parseDuration(pollWait)
    } catch (error) {
      throw new UsageError(`-poll-wait: ${(error as Error).message}`)
    }
  }
  return {
    edgeUrl,
    cluster,
    bridgeKeys: keyText.trim().split(/\s+/),
    rpcAddr: pick('rpc-addr', 'SERF_RPC_ADDR') || '127.0.0.1:7373',
    rpcAuth: pick('rpc-auth', 'SERF_RPC_AUTH') ?? '',
    cursorFile:
      pick('cursor-file', 'SERF_EDGE_CURSOR_FILE') ||
      join(env.STATE_DIRECTORY || '.', `serf-edge-${cluster}.cursor.json`),
    bridgeId: pick('bridge-id', 'SERF_EDGE_BRIDGE_ID') || `${hostname()}-${process.pid}`,
    batchSize: int('batch-size', 'SERF_EDGE_BATCH_SIZE', 256, 1, 1000),
    maxEventQueue: int('max-event-queue', 'SERF_EDGE_MAX_EVENT_QUEUE', 32, 1, 400),
    gossipProfile,
    maxRate,
    pollWaitMs: Math.min(pollWaitMs, MAX_POLL_WAIT_MS),
    metricsAddr: pick('metrics-addr', 'SERF_EDGE_METRICS_ADDR') ?? '127.0.0.1:9464',
    logLevel: pick('log-level', 'SERF_EDGE_LOG_LEVEL') || 'info',
  }
}

function isGossipProfile(name: string): name is GossipProfile {
  return (GOSSIP_PROFILES as readonly string[]).includes(name)
}

/** Run the bridge process; resolves with the exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  let config: BridgeConfig | 'help'
  try {
    config = await resolveConfig(argv, env)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`agent-bridge: ${error.message}\nRun agent-bridge -help for usage.\n`)
    return 1
  }
  if (config === 'help') {
    process.stdout.write(HELP)
    return 0
  }
  const logger = pino({
    level: config.logLevel,
    base: { service: 'agent-bridge', cluster: config.cluster, bridgeId: config.bridgeId },
  })
  let keys: SignKey[]
  try {
    keys = await Promise.all(config.bridgeKeys.map(importSignKey))
  } catch (error) {
    if (!(error instanceof KeyFormatError)) throw error
    logger.fatal(`bridge key: ${error.message}`)
    return 1
  }
  const metrics = new BridgeMetrics()
  const bridge = new Bridge({
    bridgeId: config.bridgeId,
    edge: new EdgeClient({ edgeUrl: config.edgeUrl, cluster: config.cluster, keys }),
    serf: new SerfRpcClient({ address: config.rpcAddr, authKey: config.rpcAuth }),
    cursor: new CursorStore(config.cursorFile, config.cluster),
    logger,
    metrics,
    batchSize: config.batchSize,
    pollWaitMs: config.pollWaitMs,
    pacing: { maxQueue: config.maxEventQueue, profile: config.gossipProfile, maxRate: config.maxRate ?? undefined },
  })
  if (config.metricsAddr) {
    const server = await serveMetrics(config.metricsAddr, metrics, () => bridge.health())
    const address = server.address()
    logger.info(
      { metrics: typeof address === 'object' && address ? `${address.address}:${address.port}` : config.metricsAddr },
      'serving /metrics and /healthz',
    )
  }
  let signals = 0
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without waiting')
      process.exit(130)
    }
    logger.info({ signal }, 'signal received')
    bridge.stop()
  }
  process.on('SIGTERM', onSignal)
  process.on('SIGINT', onSignal)
  try {
    await bridge.run()
    return 0
  } catch (error) {
    if (error instanceof BridgeFatalError || error instanceof CursorFileError) {
      logger.fatal(error.message)
      return 2
    }
    logger.fatal({ err: error }, 'bridge failed')
    return 1
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), process.env)
}
