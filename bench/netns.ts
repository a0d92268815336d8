/**
 * UDP loss for the bench, where netem is not available: a network namespace of its own (its own
 * loopback) with an nftables rule that drops a share of every UDP packet sent in it, and the
 * bench run again inside it (`ip netns exec`), so wrangler dev, the agents and the bridge all
 * start there. Needs root, `ip` and `nft`. The namespace is deleted when the inner run ends.
 */
import { execFileSync, spawn } from 'node:child_process'

/** Set in the inner run: the namespace it runs in and the loss its rule applies. */
export const NETNS_ENV = 'SERF_EDGE_BENCH_NETNS'

/** The nftables ruleset dropping `percent` % of UDP packets at output (loopback sends once). */
export function lossRuleset(percent: number): string {
  const perMille = Math.round(percent * 10)
  return `table inet serf_edge_bench_loss {
  chain output {
    type filter hook output priority 0; policy accept;
    meta l4proto udp counter
    meta l4proto udp numgen random mod 1000 lt ${perMille} counter drop
  }
}
`
}

/** The namespace this process runs in, when the bench started it there. */
export function insideLossNamespace(): { name: string; percent: number } | undefined {
  const value = process.env[NETNS_ENV]
  if (!value) return undefined
  const [name, percent] = value.split(':')
  return { name: name!, percent: Number(percent) }
}

/**
 * Run this bench again inside a fresh namespace dropping `percent` % of UDP; resolves with its
 * exit code once it ended and the namespace is gone.
 * @throws {Error} when the namespace or its rule cannot be made (not root, no nft)
 */
export async function rerunInLossNamespace(percent: number, log: (line: string) => void): Promise<number> {
  const name = `serf-edge-bench-${process.pid}`
  const run = (file: string, args: string[], input?: string) =>
    execFileSync(file, args, { input, stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] })
  run('ip', ['netns', 'add', name])
  try {
    run('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'])
    run('ip', ['netns', 'exec', name, 'nft', '-f', '-'], lossRuleset(percent))
    log(`network namespace ${name}: loopback up, ${percent} % of UDP packets dropped (nftables)`)
    const child = spawn(
      'ip',
      ['netns', 'exec', name, process.execPath, ...process.execArgv, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, [NETNS_ENV]: `${name}:${percent}` } },
    )
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal)
    const onInt = forward('SIGINT')
    const onTerm = forward('SIGTERM')
    process.on('SIGINT', onInt)
    process.on('SIGTERM', onTerm)
    try {
      return await new Promise<number>((resolve) =>
        child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))),
      )
    } finally {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
    }
  } finally {
    // Every process of the inner run has exited by now (it stops them by pid before it exits).
    execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' })
    log(`network namespace ${name} deleted`)
  }
}

/**
 * UDP packets sent and dropped so far in the namespace this process runs in, from the rule's
 * counters; undefined when they cannot be read.
 */
export function udpCounters(): { sent: number; dropped: number } | undefined {
  try {
    const text = execFileSync('nft', ['list', 'table', 'inet', 'serf_edge_bench_loss'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    const counts = [...text.matchAll(/counter packets (\d+)/g)].map((m) => Number(m[1]))
    return counts.length === 2 ? { sent: counts[0]!, dropped: counts[1]! } : undefined
  } catch {
    return undefined
  }
}
