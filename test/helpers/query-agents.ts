/**
 * Serf agents that answer queries, for the query tests: one event handler script (node name,
 * payload echo, a node whose handler fails, a handler slower than a short deadline), a tag per
 * node set through the real `serf tags`, and agents of a test's own that join or leave.
 */
import { execFile } from 'node:child_process'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort, SerfAgent, waitFor } from './serf-agent.ts'

const SERF = process.env.SERF_BIN ?? 'serf'
const run = promisify(execFile)

/** The node whose `fragile` handler exits 1, so Serf sends no response from it. */
export const FAILING_NODE = 'node-2'

/** Tag `role` per node of a 3-node cluster: each node its own. */
export const ROLES: Record<string, string> = { 'node-0': 'web', 'node-1': 'db', 'node-2': 'cache' }

/**
 * Queries the handler answers:
 * - `whoami`: the node's name
 * - `echo`: the query's payload (stdin), unchanged
 * - `fragile`: the node's name, except on {@link FAILING_NODE}, whose handler fails
 * - `slow`: the node's name after 2 s, later than a short deadline
 */
const HANDLER = `#!/bin/sh
[ "$SERF_EVENT" = query ] || exit 0
case "$SERF_QUERY_NAME" in
  whoami) printf '%s' "$SERF_SELF_NAME" ;;
  echo) cat ;;
  fragile) [ "$SERF_SELF_NAME" = ${FAILING_NODE} ] && { echo "handler failed"; exit 1; }; printf '%s' "$SERF_SELF_NAME" ;;
  slow) sleep 2; printf '%s' "$SERF_SELF_NAME" ;;
esac
`

/** Where {@link writeQueryHandler} puts the script in `dir`, known before it is written. */
export const queryHandlerPath = (dir: string): string => join(dir, 'query-handler.sh')

/** Writes the query handler script into `dir`; returns its path for `eventHandlerScript`. */
export async function writeQueryHandler(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true })
  const path = queryHandlerPath(dir)
  await writeFile(path, HANDLER)
  await chmod(path, 0o755)
  return path
}

/** Sets tags on a running agent with the real `serf tags -set`. */
export async function setTags(agent: SerfAgent, tags: Record<string, string>): Promise<void> {
  const sets = Object.entries(tags).flatMap(([key, value]) => ['-set', `${key}=${value}`])
  await run(SERF, ['tags', `-rpc-addr=${agent.rpcAddr}`, ...sets], { timeout: 10_000 })
}

/** The real `serf leave` on a running agent: it leaves the cluster gracefully, then exits. */
export async function leave(agent: SerfAgent): Promise<void> {
  await run(SERF, ['leave', `-rpc-addr=${agent.rpcAddr}`], { timeout: 15_000 })
  await waitFor(() => !agent.running, { timeoutMs: 15_000, what: `${agent.name} to exit after leaving` })
}

/**
 * An agent named `name` with the query handler and `tags`, started joined to `peer`; stopped
 * by the harness's `stopAll` like every other agent.
 */
export async function startExtraAgent(
  dir: string,
  name: string,
  options: { handler: string; peer: SerfAgent; tags?: Record<string, string> },
): Promise<SerfAgent> {
  const agentDir = join(dir, name)
  await mkdir(agentDir, { recursive: true })
  const agent = new SerfAgent({ name, dir: agentDir, bindPort: await freePort(), rpcPort: await freePort() })
  const config = {
    node_name: name,
    bind: agent.bindAddr,
    rpc_addr: agent.rpcAddr,
    profile: 'local',
    log_level: 'info',
    event_handlers: [options.handler],
    tags: options.tags ?? {},
  }
  await writeFile(agent.configFile, JSON.stringify(config, null, 2))
  await agent.start([options.peer.bindAddr])
  return agent
}
