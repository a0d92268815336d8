/**
 * `npm run build:selfhost`: the edge as a folder that runs on any Linux x86-64 host without
 * Cloudflare or Node: the Worker bundled by `wrangler deploy --dry-run` (the same code Cloudflare
 * would run), the workerd binary wrangler uses, a workerd config generated from wrangler.toml
 * (vars, Durable Object classes on SQLite on local disk, the page's files, the listening
 * address), and `serve`, which reads the keys and starts workerd. See README, "Deploy on your
 * own server".
 *
 *   node scripts/selfhost.ts [--out build/selfhost] [--config wrangler.toml] [--env NAME]
 *     [--var NAME:VALUE]… [--listen 127.0.0.1:8787] [--tls-cert FILE --tls-key FILE]
 *     [--inline-keys] [--outbound-allow public[,private|local|CIDR…]] [--install-dir /opt/serf-edge]
 */
import { spawnSync } from 'node:child_process'
import { chmod, copyFile, cp, link, mkdir, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join, relative, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { unstable_readConfig } from 'wrangler'
import {
  keyNamesFor,
  keysReadAtStart,
  renderServeScript,
  renderSystemdUnit,
  renderWorkerdConfig,
  type SelfHostPlan,
} from './selfhost/plan.ts'

const ROOT = resolve(import.meta.dirname, '..')
/** Written into every folder this script builds: it only ever replaces a folder it made. */
const MARKER = '.serf-edge-selfhost'

class UsageError extends Error {}

interface BuildOptions {
  out: string
  config: string
  env: string | undefined
  vars: Record<string, string>
  listen: string
  tlsCert: string | undefined
  tlsKey: string | undefined
  inlineKeys: boolean
  outboundAllow: string[]
  installDir: string
}

function parseOptions(argv: string[]): BuildOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string', default: 'build/selfhost' },
      config: { type: 'string', default: join(ROOT, 'wrangler.toml') },
      env: { type: 'string' },
      var: { type: 'string', multiple: true, default: [] },
      listen: { type: 'string', default: '127.0.0.1:8787' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'inline-keys': { type: 'boolean', default: false },
      'outbound-allow': { type: 'string', default: 'public' },
      'install-dir': { type: 'string', default: '/opt/serf-edge' },
    },
    strict: true,
  })
  const vars: Record<string, string> = {}
  for (const entry of values.var) {
    const colon = entry.indexOf(':')
    if (colon < 1) throw new UsageError(`--var wants NAME:VALUE, got ${JSON.stringify(entry)}`)
    vars[entry.slice(0, colon)] = entry.slice(colon + 1)
  }
  if (!/^[^\s:]*(:\d{1,5})$|^\[[0-9a-f:]+\]:\d{1,5}$/i.test(values.listen)) {
    throw new UsageError(`--listen wants host:port, got ${JSON.stringify(values.listen)}`)
  }
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) {
    throw new UsageError('--tls-cert and --tls-key go together')
  }
  const outboundAllow = values['outbound-allow'].split(',').map((entry) => entry.trim())
  for (const entry of outboundAllow) {
    if (!/^(public|private|local|network|[0-9a-f.:]+\/\d{1,3})$/i.test(entry)) {
      throw new UsageError(
        `--outbound-allow: ${JSON.stringify(entry)} is not public, private, local, network or a CIDR block`,
      )
    }
  }
  return {
    out: resolve(values.out),
    config: resolve(values.config),
    env: values.env,
    vars,
    listen: values.listen,
    tlsCert: values['tls-cert'] && resolve(values['tls-cert']),
    tlsKey: values['tls-key'] && resolve(values['tls-key']),
    inlineKeys: values['inline-keys'],
    outboundAllow,
    installDir: values['install-dir'],
  }
}

/** The workerd binary that the project's wrangler runs, so the bundle meets the runtime it was tested on. */
function workerdBinary(): string {
  const fromWrangler = createRequire(createRequire(import.meta.url).resolve('wrangler/package.json'))
  const main = fromWrangler.resolve('workerd')
  const binary = createRequire(main)(main) as { default?: string } | string
  return typeof binary === 'string' ? binary : (binary.default ?? '')
}

/** Empty `out`, or refuse if it holds something this script did not build. */
async function prepareOut(out: string): Promise<void> {
  const entries: string[] = await readdir(out).catch(() => [])
  if (entries.length > 0 && !entries.includes(MARKER)) {
    throw new UsageError(`${out} is not empty and was not built by this script; give another --out`)
  }
  await rm(out, { recursive: true, force: true })
  await mkdir(out, { recursive: true })
  await writeFile(join(out, MARKER), 'built by npm run build:selfhost; replaced on the next build\n')
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to)
  } catch {
    await copyFile(from, to)
  }
  await chmod(to, 0o755)
}

async function build(options: BuildOptions): Promise<SelfHostPlan> {
  const config = unstable_readConfig({ config: options.config, env: options.env })
  await prepareOut(options.out)

  const bundle = spawnSync(
    process.execPath,
    [
      join(ROOT, 'node_modules/wrangler/bin/wrangler.js'),
      'deploy',
      '--dry-run',
      `--outdir=${join(options.out, 'worker')}`,
      `--config=${options.config}`,
      ...(options.env ? [`--env=${options.env}`] : []),
    ],
    { cwd: dirname(options.config), encoding: 'utf8', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
  )
  if (bundle.status !== 0) throw new Error(`wrangler could not bundle the Worker:\n${bundle.stdout}${bundle.stderr}`)

  let assetsBinding: string | undefined
  if (config.assets?.directory) {
    assetsBinding = config.assets.binding ?? 'ASSETS'
    const from = resolve(dirname(options.config), config.assets.directory)
    await stat(from).catch(() => {
      throw new UsageError(`the assets folder ${from} does not exist (npm run build:page)`)
    })
    await cp(from, join(options.out, 'files'), { recursive: true })
    await copyFile(join(import.meta.dirname, 'selfhost/assets-worker.js'), join(options.out, 'assets-worker.js'))
  }

  const vars: Record<string, unknown> = { ...config.vars, ...options.vars }
  const keyNames = keyNamesFor(vars)
  let inlineKeys: Record<string, string> | undefined
  if (options.inlineKeys) {
    inlineKeys = {}
    const unset = keyNames.filter((name) => !process.env[name])
    if (unset.length > 0) throw new UsageError(`--inline-keys: not set in the environment: ${unset.join(', ')}`)
    for (const name of keyNames) inlineKeys[name] = process.env[name] as string
  }
  const plan: SelfHostPlan = {
    name: config.name ?? 'serf-edge',
    compatibilityDate: config.compatibility_date ?? '2026-11-01',
    compatibilityFlags: config.compatibility_flags ?? [],
    vars,
    durableObjects: config.durable_objects.bindings.map((d: { name: string; class_name: string }) => ({
      binding: d.name,
      className: d.class_name,
    })),
    assetsBinding,
    keyNames,
    inlineKeys,
    listen: options.listen,
    tls: Boolean(options.tlsCert),
    outboundAllow: options.outboundAllow,
  }
  if (options.tlsCert && options.tlsKey) {
    await mkdir(join(options.out, 'tls'))
    await symlink(options.tlsCert, join(options.out, 'tls/cert.pem'))
    await symlink(options.tlsKey, join(options.out, 'tls/key.pem'))
  }
  // With keys inside, the config is as secret as the keys: readable by its owner only.
  await writeFile(join(options.out, 'serf-edge.capnp'), renderWorkerdConfig(plan), { mode: inlineKeys ? 0o600 : 0o644 })
  await writeFile(join(options.out, 'serve'), renderServeScript(plan), { mode: 0o755 })
  await writeFile(join(options.out, 'serf-edge.service'), renderSystemdUnit(plan, options.installDir))
  await linkOrCopy(workerdBinary(), join(options.out, 'workerd'))
  return plan
}

async function main(): Promise<void> {
  const started = performance.now()
  const options = parseOptions(process.argv.slice(2))
  const plan = await build(options)
  const where = relative(process.cwd(), options.out) || '.'
  const keys = keysReadAtStart(plan)
  console.log(
    [
      `self-hosted edge built in ${where}/ (${Math.round(performance.now() - started)} ms)`,
      `  listens on ${plan.tls ? 'https' : 'http'}://${plan.listen} (SERF_EDGE_LISTEN overrides)`,
      `  Durable Objects: ${plan.durableObjects.map((d) => d.className).join(', ')} (SQLite in SERF_EDGE_STATE_DIR)`,
      keys.length > 0
        ? `  keys it reads at start (files in SERF_EDGE_KEYS_DIR, or environment): ${keys.join(', ')}`
        : '  keys: all written into the config (--inline-keys): keep serf-edge.capnp secret',
      `run: SERF_EDGE_STATE_DIR=/var/lib/serf-edge-queues ${where}/serve`,
      `  or as a service: ${where}/serf-edge.service (for the folder installed at ${options.installDir})`,
    ].join('\n'),
  )
}

main().catch((error: unknown) => {
  console.error(`build:selfhost: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(error instanceof UsageError ? 2 : 1)
})
