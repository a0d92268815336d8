/**
 * What `npm start` runs with: read from the environment once, into one typed object, and the
 * places under the repository it writes to. Nothing else in `scripts/dev` reads `process.env`.
 */
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { delimiter, join } from 'node:path'

/** The cluster and the sender `wrangler.toml` configures for local development. */
export const DEV_CLUSTER = 'dev'
export const DEV_SENDER = 'dev'
/** Node name of the development Serf agent `npm start` runs when none answers. */
export const DEV_NODE = 'serf-edge-dev'

/** A problem the person running `npm start` can fix; the message says how. */
export class DevSetupError extends Error {
  override name = 'DevSetupError'
}

export interface DevConfig {
  /** The repository: wrangler.toml, .dev.vars and .serf-edge/ are here. */
  root: string
  /** Where the person typed `npm start` (npm's INIT_CWD): printed commands are relative to it. */
  shellCwd: string
  /** The edge listens on 127.0.0.1 at this port. */
  port: number
  /** Serf agent RPC address the bridge talks to; a development agent starts here if none answers. */
  rpcAddr: string
  /** Serf `rpc_auth` token, given to the bridge and to a development agent. */
  rpcAuth: string
  /** The bridge's /metrics and /healthz; port 0 picks a free one. */
  metricsAddr: string
  /** Absolute path of `serf`, or undefined when it is not on PATH. */
  serfBin: string | undefined
  /** Environment the children inherit. */
  env: Record<string, string | undefined>
}

/** The files and folders `npm start` keeps, all git-ignored. */
export interface DevPaths {
  devVars: string
  stateDir: string
  /** The signing keys (and edge URL) for the serf-edge CLI and agent-bridge. */
  toolsEnv: string
  edgeState: string
  cursorFile: string
  serfDir: string
}

export function devPaths(root: string): DevPaths {
  const stateDir = join(root, '.serf-edge')
  return {
    devVars: join(root, '.dev.vars'),
    stateDir,
    toolsEnv: join(stateDir, 'dev.env'),
    edgeState: join(stateDir, 'state'),
    cursorFile: join(stateDir, `bridge-${DEV_CLUSTER}.cursor.json`),
    serfDir: join(stateDir, 'serf'),
  }
}

/**
 * Read `PORT`, `SERF_RPC_ADDR`, `SERF_RPC_AUTH`, `SERF_EDGE_METRICS_ADDR` and find `serf` on
 * `PATH`.
 * @throws {DevSetupError} for a malformed port or address
 */
export async function resolveDevConfig(root: string, env: Record<string, string | undefined>): Promise<DevConfig> {
  const port = Number(env.PORT || 8787)
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new DevSetupError(`PORT must be a TCP port number, got "${env.PORT}"`)
  }
  const rpcAddr = env.SERF_RPC_ADDR || '127.0.0.1:7373'
  if (!/^[\w.-]+:\d{1,5}$/.test(rpcAddr)) {
    throw new DevSetupError(`SERF_RPC_ADDR must be host:port, got "${rpcAddr}"`)
  }
  return {
    root,
    shellCwd: env.INIT_CWD || process.cwd(),
    port,
    rpcAddr,
    rpcAuth: env.SERF_RPC_AUTH ?? '',
    metricsAddr: env.SERF_EDGE_METRICS_ADDR || '127.0.0.1:0',
    serfBin: await findOnPath('serf', env.PATH ?? ''),
    env,
  }
}

async function findOnPath(name: string, path: string): Promise<string | undefined> {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name)
    try {
      await access(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this directory
    }
  }
  return undefined
}
