/**
 * The bridge hop on its own: from the Durable Object's append of an event (its `enqueuedAt`,
 * the object's clock at the append, millisecond resolution) to Serf's answer to the bridge's
 * `event` RPC at node-0 (the bridge's "event accepted by Serf" debug line, sub-millisecond
 * wall clock). Events are fired one at a time with a pause, so each one finds the bridge waiting
 * on its long-poll. The bridge runs twice on the same edge, alternating rounds: once through the
 * URL `wrangler dev` serves (its proxy Worker in a workerd of its own, which production does
 * not have), once straight at the workerd that runs the Worker and the object. With
 * SERF_EDGE_TEST_EDGE=selfhosted the edge is the self-hosted build on workerd (no wrangler, no
 * proxy, no local trace store): one path, `selfhosted`.
 *
 *   node bench/bridge-hop.ts [--events=300] [--rounds=2] [--entry=dist/agent-bridge.js]
 *        [--node-args="…"] [--out=FILE]
 *
 * Not part of `npm run bench`: a separate run, written up by hand in docs/BENCHMARKS.md.
 */
import { readFileSync, readlinkSync } from 'node:fs'
import { appendFile, mkdtemp, readdir, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fireEvent } from '../client/sdk.ts'
import { wallClockMs } from '../protocol/timing.ts'
import { spawnBridge } from '../scripts/harness/bridge.ts'
import { startEdge, stopAllEdges } from '../scripts/harness/local-edge.ts'
import { edgeAnswers } from '../scripts/harness/wrangler.ts'
import { startSilentCluster } from './cluster.ts'
import { descendants } from './proc.ts'
import { fmt, type Summary, sleep, summarize } from './stats.ts'

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '2' },
    entry: { type: 'string' },
    'node-args': { type: 'string', default: '' },
    out: { type: 'string' },
  },
})
const perPath = Number(values.events)
const rounds = Number(values.rounds)
const CLUSTER = 'hop'

type Line = Record<string, unknown> & { msg?: string }

/** Loopback ports the processes listen on (from /proc/net/tcp and their open sockets). */
async function listeningPorts(pids: number[]): Promise<number[]> {
  const inodes = new Set<string>()
  for (const pid of pids) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`)
        const match = /^socket:\[(\d+)\]$/.exec(link)
        if (match) inodes.add(match[1]!)
      } catch {
        // closed meanwhile
      }
    }
  }
  const ports: number[] = []
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f[3] === '0A' && inodes.has(f[9]!)) ports.push(Number.parseInt(f[1]!.split(':')[1]!, 16))
  }
  return ports
}

const dir = await mkdtemp(join(tmpdir(), 'serf-edge-hop-'))
const cluster = await startSilentCluster(join(dir, 'serf'))
const edge = await startEdge({ dir: join(dir, 'edge'), clusters: { [CLUSTER]: { maxEventAge: '1h' } } })
type Path = 'proxy' | 'direct' | 'selfhosted'
const PATHS: Path[] = edge.runtime === 'selfhosted' ? ['selfhosted'] : ['proxy', 'direct']
const LABELS: Record<Path, string> = {
  proxy: "through wrangler's proxy",
  direct: "straight to the Worker's workerd",
  selfhosted: 'the self-hosted edge (workerd alone)',
}
let directUrl: string | undefined
if (edge.runtime === 'wrangler') {
  const proxyPort = Number(new URL(edge.url).port)
  const workerd = descendants(edge.pid!).filter((p) => p.comm === 'workerd')
  for (const port of await listeningPorts(workerd.map((p) => p.pid))) {
    if (port === proxyPort) continue
    if (await edgeAnswers(`http://127.0.0.1:${port}`)) {
      directUrl = `http://127.0.0.1:${port}`
      break
    }
  }
  if (!directUrl) throw new Error(`no workerd port below wrangler (pid ${edge.pid}) answers as the serf-edge Worker`)
  process.stderr.write(`edge: ${edge.url} (wrangler's proxy), ${directUrl} (the Worker's workerd)\n`)
} else process.stderr.write(`edge: ${edge.url} (self-hosted, workerd pid ${edge.pid})\n`)

const sender = Object.keys(edge.senderKeys)[0]!
interface Sample {
  path: Path
  sequence: number
  /** POST → 202 at the sender, ms (context only). */
  postMs: number
  /** The sender's start → the append (sign, HTTP, wrangler's proxy, verification). */
  toAppendMs: number
  /** append → the sender has its 202: the same commit releases it and the poll's answer. */
  appendTo202Ms: number
  /** append → Serf accepted at node-0. */
  hopMs: number
  /** append → the bridge has the poll's answer in hand (commit, socket, Worker, HTTP, parse). */
  edgeMs: number
  /** answer in hand → Serf accepted (pacer, `event` RPC). */
  bridgeMs: number
}
const samples: Sample[] = []
const load: number[] = [loadavg()[0]!]

async function round(path: Path, count: number): Promise<void> {
  const accepted = new Map<number, Line>()
  const handed: Line[] = []
  const bridge = spawnBridge(
    {
      edgeUrl: path === 'direct' ? directUrl! : edge.url,
      cluster: CLUSTER,
      bridgeKey: edge.bridgeKeys[CLUSTER]!,
      rpcAddr: cluster.agents[0]!.rpcAddr,
      cursorFile: join(dir, 'cursor.json'),
      bridgeId: 'bench-hop',
      gossipProfile: cluster.profile,
      extraArgs: ['-log-level=debug'],
      nodeArgs: values['node-args']!.split(/\s+/).filter(Boolean),
      entry: values.entry,
    },
    {
      onLine: (text) => {
        if (!text.startsWith('{')) return
        const line = JSON.parse(text) as Line
        if (line.msg === 'event accepted by Serf') accepted.set(Number(line.sequence), line)
        if (line.msg === 'events handed over') handed.push(line)
      },
    },
  )
  try {
    // Its first long-poll is waiting once it has logged the pace and polled once.
    for (let i = 0; i < 200 && !bridge.output.includes('lease acquired'); i++) await sleep(50)
    await sleep(500)
    for (let i = 0; i < count; i++) {
      const started = performance.now()
      const startedAt = wallClockMs()
      const answer = await fireEvent({
        edgeUrl: edge.url,
        cluster: CLUSTER,
        sender,
        key: edge.senderKeys[sender]!,
        name: 'hop',
        payload: String(i),
        coalesce: false,
      })
      const postMs = performance.now() - started
      const answeredAt202 = wallClockMs()
      for (let t = 0; t < 1000 && !accepted.has(answer.sequence); t++) await sleep(2)
      const line = accepted.get(answer.sequence)
      if (!line) throw new Error(`sequence ${answer.sequence} not accepted by Serf in 2 s\n${bridge.tail(20)}`)
      const hand = handed.find((h) => Number(h.from) <= answer.sequence && answer.sequence <= Number(h.through))
      const enqueued = Date.parse(String(line.enqueuedAt))
      const acceptedAt = Number(line.acceptedAt)
      const answeredAt = Number(hand?.answeredAt ?? Number.NaN)
      samples.push({
        path,
        sequence: answer.sequence,
        postMs,
        toAppendMs: enqueued - startedAt,
        appendTo202Ms: answeredAt202 - enqueued,
        hopMs: acceptedAt - enqueued,
        edgeMs: answeredAt - enqueued,
        bridgeMs: acceptedAt - answeredAt,
      })
      // Let the bridge settle (drain, ack) and wait on its next poll; off any timer's beat.
      await sleep(150 + Math.random() * 150)
    }
  } finally {
    await bridge.stop(30_000)
  }
}

try {
  for (let r = 0; r < rounds; r++) {
    for (const path of PATHS) {
      process.stderr.write(`round ${r + 1}/${rounds}: ${path}\n`)
      await round(path, Math.ceil(perPath / rounds))
    }
  }
} finally {
  load.push(loadavg()[0]!)
  await stopAllEdges()
  await cluster.stop()
  await rm(dir, { recursive: true, force: true })
}

const by = (path: Sample['path'], key: Exclude<keyof Sample, 'path' | 'sequence'>): Summary =>
  summarize(samples.filter((s) => s.path === path).map((s) => s[key]))
const result = {
  at: new Date().toISOString(),
  entry: values.entry ?? 'agent-bridge/cli.ts',
  nodeArgs: values['node-args'],
  loadAverage: load,
  summary: Object.fromEntries(
    PATHS.map((path) => [
      path,
      {
        hop: by(path, 'hopMs'),
        edge: by(path, 'edgeMs'),
        bridge: by(path, 'bridgeMs'),
        post: by(path, 'postMs'),
        toAppend: by(path, 'toAppendMs'),
        appendTo202: by(path, 'appendTo202Ms'),
      },
    ]),
  ),
  samples,
}
if (values.out) await appendFile(values.out, `${JSON.stringify(result)}\n`)
const row = (s: Summary) => `${fmt(s.median, 2)} / ${fmt(s.p99, 2)}`
process.stdout.write(
  '| bridge polls | samples | append → Serf accepted (hop) | append → answer in the bridge | answer → Serf accepted | sender POST → 202 | sender start → append | append → 202 at the sender |\n' +
    '| --- | --- | --- | --- | --- | --- | --- | --- |\n' +
    PATHS.map((path) => {
      const s = result.summary[path]!
      return `| ${LABELS[path]} | ${s.hop.n} | ${row(s.hop)} | ${row(s.edge)} | ${row(s.bridge)} | ${row(s.post)} | ${row(s.toAppend)} | ${row(s.appendTo202)} |`
    }).join('\n') +
    `\n\nmedian / p99 in ms; load average ${load.map((l) => l.toFixed(2)).join(' → ')}\n`,
)
