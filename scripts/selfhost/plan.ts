/**
 * What a self-hosted edge is made of, derived from the project's wrangler configuration: the
 * Worker's vars, the keys it reads, its Durable Object classes, where it listens. Rendered into a
 * workerd config (Cap'n Proto text) and the script that starts workerd with it. Pure: the build
 * (scripts/selfhost.ts) does the files.
 */
import { type SecretKind, secretName } from '../../protocol/wire.ts'

export interface SelfHostPlan {
  /** The Worker's name (wrangler.toml `name`); prefixes each Durable Object class's storage folder. */
  name: string
  compatibilityDate: string
  compatibilityFlags: string[]
  /** The Worker's vars: objects become JSON bindings, strings text bindings. */
  vars: Record<string, unknown>
  /** Durable Object bindings; each class gets SQLite storage on local disk. */
  durableObjects: { binding: string; className: string }[]
  /** The static assets binding (the on-call page's files), if the Worker has one. */
  assetsBinding: string | undefined
  /** Every key the Worker reads, by its variable's name. */
  keyNames: string[]
  /** Keys written into the config in clear, by name (only when the operator asked for it). */
  inlineKeys: Record<string, string> | undefined
  /** The default listening address (`host:port`); SERF_EDGE_LISTEN overrides it at start. */
  listen: string
  /** Serve HTTPS with the certificate and key linked as tls/cert.pem and tls/key.pem. */
  tls: boolean
  /**
   * Where the Worker may connect (Slack's response_url, Discord's API): workerd's network
   * allow-list, `public` by default (no private or loopback addresses, against SSRF).
   */
  outboundAllow: string[]
}

/** The keys workerd reads when it starts: all but those written into the config. */
export const keysReadAtStart = (plan: SelfHostPlan): string[] =>
  plan.keyNames.filter((name) => plan.inlineKeys?.[name] === undefined)

/** Object vars whose entries each have a key, and the kind of that key. */
const KEYED_SECTIONS: [string, SecretKind][] = [
  ['CLUSTERS', 'BRIDGE_KEYS'],
  ['SENDERS', 'SENDER_KEYS'],
  ['SLACK_APPS', 'SLACK_SIGNING_SECRET'],
  ['DISCORD_APPS', 'DISCORD_PUBLIC_KEY'],
  ['GITHUB_HOOKS', 'GITHUB_WEBHOOK_SECRET'],
]

/**
 * The keys the Worker reads for the sections configured in `vars` (a section given as JSON text,
 * as `--var` gives it, counts too), sorted.
 * @example keyNamesFor({ CLUSTERS: { prod: {} }, SENDERS: { ci: {} } }) // ['BRIDGE_KEYS_PROD', 'SENDER_KEYS_CI']
 */
export function keyNamesFor(vars: Record<string, unknown>): string[] {
  const names = new Set<string>()
  for (const [section, kind] of KEYED_SECTIONS) {
    let value = vars[section]
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value)
      } catch {
        continue // the Worker reports the bad JSON itself, naming the var
      }
    }
    if (value === null || typeof value !== 'object') continue
    for (const id of Object.keys(value)) names.add(secretName(kind, id))
  }
  return [...names].sort()
}

/** A Cap'n Proto text literal: quotes, backslashes and control characters escaped. */
export function capnpText(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it escapes
  const escaped = value.replace(/[\\"\u0000-\u001f\u007f]/g, (char) => {
    if (char === '\\') return '\\\\'
    if (char === '"') return '\\"'
    if (char === '\n') return '\\n'
    if (char === '\t') return '\\t'
    return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`
  })
  return `"${escaped}"`
}

function varBinding(name: string, value: unknown): string {
  if (typeof value === 'string') return `(name = ${capnpText(name)}, text = ${capnpText(value)})`
  return `(name = ${capnpText(name)}, json = ${capnpText(JSON.stringify(value))})`
}

function keyBinding(name: string, inline: Record<string, string> | undefined): string {
  const value = inline?.[name]
  if (value !== undefined) return `(name = ${capnpText(name)}, text = ${capnpText(value)})`
  return `(name = ${capnpText(name)}, fromEnvironment = ${capnpText(name)})`
}

/**
 * The workerd config: the edge Worker (bundle in worker/index.js), the page's files behind a
 * small Worker that serves them as Workers static assets would (assets-worker.js over the
 * `files/` folder), each Durable Object class on SQLite in the `state` directory service (its
 * path given at start with `--directory-path state=…`), and one socket named `http`.
 */
export function renderWorkerdConfig(plan: SelfHostPlan): string {
  const compat = (indent: string) =>
    [
      `${indent}compatibilityDate = ${capnpText(plan.compatibilityDate)},`,
      `${indent}compatibilityFlags = [${plan.compatibilityFlags.map(capnpText).join(', ')}],`,
    ].join('\n')
  const bindings = [
    ...Object.entries(plan.vars).map(([name, value]) => varBinding(name, value)),
    ...plan.keyNames.map((name) => keyBinding(name, plan.inlineKeys)),
    ...plan.durableObjects.map(
      (d) => `(name = ${capnpText(d.binding)}, durableObjectNamespace = ${capnpText(d.className)})`,
    ),
    ...(plan.assetsBinding ? [`(name = ${capnpText(plan.assetsBinding)}, service = "assets")`] : []),
  ]
  const namespaces = plan.durableObjects.map(
    (d) =>
      `(className = ${capnpText(d.className)}, uniqueKey = ${capnpText(`${plan.name}-${d.className}`)}, enableSql = true)`,
  )
  const socket = plan.tls
    ? `(name = "http", address = ${capnpText(plan.listen)}, service = "edge",
      https = (options = (), tlsOptions = (keypair = (privateKey = embed "tls/key.pem", certificateChain = embed "tls/cert.pem"))))`
    : `(name = "http", address = ${capnpText(plan.listen)}, service = "edge", http = ())`
  const lines = [
    '# serf-edge, self-hosted: generated by `npm run build:selfhost` from wrangler.toml. Rebuild rather',
    '# than edit. Keys are read from the environment (fromEnvironment) unless built with --inline-keys.',
    'using Workerd = import "/workerd/workerd.capnp";',
    '',
    'const config :Workerd.Config = (',
    '  services = [',
    '    (name = "edge", worker = .edge),',
    ...(plan.assetsBinding
      ? ['    (name = "assets", worker = .assets),', '    (name = "files", disk = (path = "files")),']
      : []),
    '    # Durable Object storage: one folder per class, SQLite files per object (experimental in workerd).',
    '    (name = "state", disk = (writable = true)),',
    '    # Outbound connections (fetch) from the Worker: only to these networks.',
    `    (name = "internet", network = (allow = [${plan.outboundAllow.map(capnpText).join(', ')}], tlsOptions = (trustBrowserCas = true))),`,
    '  ],',
    `  sockets = [${socket}],`,
    ');',
    '',
    'const edge :Workerd.Worker = (',
    '  modules = [(name = "index.js", esModule = embed "worker/index.js")],',
    compat('  '),
    '  bindings = [',
    ...bindings.map((binding) => `    ${binding},`),
    '  ],',
    '  durableObjectNamespaces = [',
    ...namespaces.map((namespace) => `    ${namespace},`),
    '  ],',
    '  durableObjectStorage = (localDisk = "state"),',
    '  globalOutbound = "internet",',
    ');',
  ]
  if (plan.assetsBinding) {
    lines.push(
      '',
      'const assets :Workerd.Worker = (',
      '  modules = [(name = "assets-worker.js", esModule = embed "assets-worker.js")],',
      compat('  '),
      '  bindings = [(name = "FILES", service = "files")],',
      ');',
    )
  }
  return `${lines.join('\n')}\n`
}

/**
 * The start script (`serve`, POSIX sh): keys from files in SERF_EDGE_KEYS_DIR (or systemd's
 * CREDENTIALS_DIRECTORY), one file per key named like its variable, else from the environment;
 * refuses to start with a key missing; then execs workerd (same pid, so a service manager's
 * signals reach it) with the state directory and the listening address.
 */
export function renderServeScript(plan: SelfHostPlan): string {
  const needed = keysReadAtStart(plan)
  return `#!/bin/sh
# serf-edge, self-hosted: start workerd with the generated config. Generated by
# \`npm run build:selfhost\`; see README, "Deploy on your own server".
#   SERF_EDGE_STATE_DIR  where the queues live (required; keep it across restarts, back it up)
#   SERF_EDGE_LISTEN     host:port to listen on (default ${plan.listen})
#   SERF_EDGE_KEYS_DIR   a folder with one file per key, named like its variable; default
#                        systemd's CREDENTIALS_DIRECTORY; keys not found there come from the
#                        environment
set -eu
here=$(cd "$(dirname "$0")" && pwd)
keys_dir=\${SERF_EDGE_KEYS_DIR:-\${CREDENTIALS_DIRECTORY:-}}
missing=""
for name in ${needed.join(' ')}; do
  if [ -n "$keys_dir" ] && [ -r "$keys_dir/$name" ]; then
    value=$(cat "$keys_dir/$name")
    export "$name=$value"
  fi
  eval "present=\\\${$name:-}"
  [ -n "$present" ] || missing="$missing $name"
done
if [ -n "$missing" ]; then
  echo "serf-edge: keys not set:$missing (files in SERF_EDGE_KEYS_DIR or environment variables)" >&2
  exit 78
fi
state=\${SERF_EDGE_STATE_DIR:?SERF_EDGE_STATE_DIR must name the folder that keeps the queues}
mkdir -p "$state"
state=$(cd "$state" && pwd)
cd "$here"
exec "$here/workerd" serve "$here/serf-edge.capnp" \\
  --directory-path "state=$state" \\
  --socket-addr "http=\${SERF_EDGE_LISTEN:-${plan.listen}}"
`
}

/**
 * A systemd unit for the built folder installed at `installDir`: a user of its own, the queues in
 * its state directory, each key handed over by LoadCredential= from a root-only file in
 * /etc/serf-edge/edge-keys/ (`serve` reads CREDENTIALS_DIRECTORY), SIGTERM to stop.
 */
export function renderSystemdUnit(plan: SelfHostPlan, installDir: string): string {
  const needed = keysReadAtStart(plan)
  const port = Number(plan.listen.slice(plan.listen.lastIndexOf(':') + 1))
  const privilegedPort = port < 1024
  return `# serf-edge, self-hosted: the edge on workerd. Generated by \`npm run build:selfhost\` for this
# build; see README, "Deploy on your own server".
#
# Install (as root), with the built folder copied to ${installDir}:
#   install -d -m 0700 /etc/serf-edge/edge-keys      # one file per key, named like its variable:
${needed.map((name) => `#     install -m 0600 /dev/null /etc/serf-edge/edge-keys/${name}   # then put the key in it`).join('\n')}
#   install -m 0644 ${installDir}/serf-edge.service /etc/systemd/system/
#   systemctl daemon-reload && systemctl enable --now serf-edge
#   curl -fsS ${plan.tls ? 'https' : 'http'}://${plan.listen.replace(/^(\*|0\.0\.0\.0)/, '127.0.0.1')}/healthz   # {"status":"ok",...}
#   journalctl -u serf-edge -f
#
# Needs systemd >= 248 (LoadCredential=). Back up /var/lib/serf-edge-queues: it is the queue.

[Unit]
Description=serf-edge edge (self-hosted on workerd)
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
ExecStart=${installDir}/serve
Environment=SERF_EDGE_STATE_DIR=%S/serf-edge-queues
# Environment=SERF_EDGE_LISTEN=0.0.0.0:8787
${needed.map((name) => `LoadCredential=${name}:/etc/serf-edge/edge-keys/${name}`).join('\n')}

StateDirectory=serf-edge-queues
StateDirectoryMode=0700
User=serf-edge
DynamicUser=yes

# workerd ends on SIGTERM within about a second. Every accepted event is already committed to
# SQLite, so even a SIGKILL after the timeout loses nothing; bridges retry what was in flight.
KillSignal=SIGTERM
TimeoutStopSec=15s
Restart=always
RestartSec=2s
# Exit code 78: a key is missing; restarting will not fix it.
RestartPreventExitStatus=78
LimitNOFILE=65536

# Hardening. workerd needs its folder (read), its state directory (write) and the network.
# No MemoryDenyWriteExecute=: V8's JIT needs writable executable memory.
NoNewPrivileges=yes
CapabilityBoundingSet=${privilegedPort ? 'CAP_NET_BIND_SERVICE' : ''}
AmbientCapabilities=${privilegedPort ? 'CAP_NET_BIND_SERVICE' : ''}
UMask=0077
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectHostname=yes
ProtectClock=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RemoveIPC=yes
SystemCallArchitectures=native

[Install]
WantedBy=multi-user.target
`
}
