/**
 * The CLI's words: exit codes, the help of each command (modelled on `serf event -h`), and how
 * results are printed.
 */
import type { EventAccepted, EventStatus } from '../protocol/wire.ts'

/** Exit codes of `serf-edge`; `--help` prints this table. */
export const EXIT_CODES = {
  ok: {
    code: 0,
    meaning: 'accepted by the edge (with -wait: delivered to Serf); a query: ran to its deadline; others: done',
  },
  usage: {
    code: 1,
    meaning: 'usage or configuration error (bad flag, missing edge URL, cluster, sender or key)',
  },
  refused: {
    code: 2,
    meaning: 'refused by the edge (4xx problem), or an invalid event or query caught before sending',
  },
  rejected: { code: 3, meaning: "rejected by Serf (Serf's error is printed)" },
  expired: {
    code: 4,
    meaning: 'expired in the queue before a bridge delivered it (a query: before a bridge started it)',
  },
  waitTimeout: { code: 5, meaning: '-wait timed out while the event was still queued' },
  unreachable: {
    code: 6,
    meaning: 'edge unreachable or failing (network error, or 5xx/429 after retries)',
  },
  failed: {
    code: 7,
    meaning: 'a query failed: Serf refused it, or its bridge lost the lease or stopped reporting',
  },
} as const

/** One of the exit codes above. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]['code']

/** The default of a bare `-wait`. */
export const DEFAULT_WAIT_MS = 60_000

const exitTable = Object.values(EXIT_CODES)
  .map(({ code, meaning }) => `  ${code}  ${meaning}`)
  .join('\n')

const EDGE_URL_OPTION = `  -edge-url=<url>           Base URL of the edge. Env SERF_EDGE_URL.`

const SENDER_OPTIONS = `  -sender=<id>              Sender id: the edge verifies with its keys and scope.
                            Env SERF_EDGE_SENDER.

  -key=<key>                Signing key, whsec_... (HMAC) or whsk_... (Ed25519).
                            Repeat, or separate with spaces, to sign with several
                            keys while rolling one over. Env SERF_EDGE_KEY. Prefer
                            the environment or the config file: flags show in ps.

  -config=<path>            JSON config file with "edgeUrl", "cluster", "sender"
                            and "key". Default $XDG_CONFIG_HOME/serf-edge/config.json
                            or ~/.config/serf-edge/config.json.

  A flag wins over the environment, which wins over the config file.
  Flags may be written -flag or --flag, -flag=value or -flag value.`

const EDGE_OPTIONS = `${EDGE_URL_OPTION}

  -cluster=<id>             Cluster to send to, as configured at the edge.
                            Env SERF_EDGE_CLUSTER.

${SENDER_OPTIONS}`

/** The edge options of the commands that name no cluster. */
const OPERATOR_EDGE_OPTIONS = `${EDGE_URL_OPTION}

${SENDER_OPTIONS}`

export const MAIN_HELP = `Usage: serf-edge <command> [options] [args]

  Fire HashiCorp Serf user events from outside the private network, through
  the serf-edge HTTPS edge and the bridge running next to the Serf agent.

Available commands are:
    event     Send a custom event into a Serf cluster through the edge
    status    Show the status of an event sent earlier
    keygen    Generate a sender key and show how to register it
    audit     Show who tried to fire which events on a cluster
    query     Send a query to the Serf cluster and show the answers
    members   Show the cluster's members as the bridge last reported them
    invite    Create a one-time link that enrols an operator's phone
    devices   List operators' enrolled devices, or revoke one

Run 'serf-edge <command> -h' for the options of a command.

Exit codes:
${exitTable}
`

export const EVENT_HELP = `Usage: serf-edge event [options] name [payload]

  Dispatches a custom user event into a Serf cluster, as 'serf event' does,
  from anywhere: the event is signed and sent to the serf-edge edge, which
  queues it durably and answers at once; the bridge inside the cluster then
  fires it into Serf. Prints the event id and its position in the queue.

  The payload is the second argument, or '-' to read it from stdin as bytes.
  Flags go before the name, as with 'serf event'.

Options:

  -coalesce=true/false      Whether this event can be coalesced by Serf. By
                            default this is set to true.

  -wait[=<duration>]        Block until the event is delivered to Serf, rejected
                            by Serf, or expired; give up after <duration> (default
                            60s; e.g. 500ms, 30s, 2m).

  -json                     Print the edge's answer (with -wait: the final
                            status) as JSON.

${EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const STATUS_HELP = `Usage: serf-edge status [options] id

  Shows the status of an event sent earlier: queued, delivered, rejected (with
  Serf's error) or expired. Exits 0 for queued and delivered, 3 for rejected,
  4 for expired.

Options:

  -wait[=<duration>]        Block while the event is queued (default 60s).

  -json                     Print the status as JSON.

${EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const KEYGEN_HELP = `Usage: serf-edge keygen [options]

  Generates a sender key, prints the key to keep and the exact lines that
  register it with the edge: the 'wrangler secret put' command for the
  sender's verify keys and the SENDERS entry of wrangler.toml, then the
  sender's own config. Nothing is written anywhere.

Options:

  -type=ed25519|hmac        ed25519 (default): the edge holds only the public
                            key (whpk_...), the sender keeps whsk_.... hmac: one
                            shared secret (whsec_...), as in most Standard
                            Webhooks libraries.

  -sender=<id>              Sender id to register (env SERF_EDGE_SENDER).

  -cluster=<id>             Cluster the sender may use (env SERF_EDGE_CLUSTER).

  -edge-url=<url>           Edge URL for the printed config (env SERF_EDGE_URL).

  -json                     Print the key and its names as JSON.
`

/** One JSON document per line, for scripts. */
export const AUDIT_HELP = `Usage: serf-edge audit [options]

  Shows the cluster's audit trail: every attempt to fire an event through any
  door (API, chat, page), refused ones included, oldest first, with what the
  edge decided and the event's status now. Queries asked through the API are
  recorded too, with their query id (qry_...) in place of an event id. The
  sender needs the audit permission on the cluster ("audit" in its SENDERS
  entry).

Options:

  -since=<duration|time>    Only attempts in the last <duration> (1h, 2d) or since
                            an RFC 3339 time (2026-11-24T09:00:00Z). Default: all
                            the edge still keeps (the cluster's retention).

  -principal=<id>           Only the attempts of this principal (a sender id,
                            or a chat principal such as slack:T0123:U0456).

  -format=text|json         text (default): one line per attempt. json: one JSON
                            object per line, as the API answers each record.

${EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const QUERY_HELP = `Usage: serf-edge query [options] name [payload]

  Dispatches a query to the Serf cluster, as 'serf query' does, from anywhere:
  the query is signed and sent to the serf-edge edge, which hands it to the
  bridge ahead of any queued events; the bridge runs it on its Serf agent.
  Acks and responses are printed as they reach the edge, then the totals.

  A query ends when its timeout passes, not when every node has answered:
  nodes that have not answered by then never will. Queries do not wait for
  events queued before them (see README, "Queries and event order").

  Serf's limits apply: the encoded query (name, payload, filters and the
  bridge's node name) must fit the cluster's query_size_limit (1024 bytes by
  default), and each response its query_response_size_limit. Names starting
  with "_serf_" are Serf's own. The sender needs "queries" in its SENDERS entry.

Options:

  -format=text|json         text (default): lines as they arrive. json: one
                            document at the end, {"Acks": [...], "Responses":
                            {node: payload}}, as 'serf query -format=json'.

  -node=NAME                This flag can be provided multiple times to filter
                            responses to only named nodes.

  -tag KEY=REGEXP           This flag can be provided multiple times to filter
                            responses to only nodes matching the tags. The
                            regexp is Go's (RE2) and matches anywhere in the
                            value: anchor it (^web$) for a whole value.

  -timeout=<duration>       How long nodes may answer (100ms to 5m). Default:
                            Serf's own, a few seconds for small clusters.

  -no-ack                   Setting this prevents nodes from sending an
                            acknowledgement of the query.

  -relay-factor=N           Query responses will be relayed through this number
                            of extra nodes for redundancy (0 to 5).

${EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const MEMBERS_HELP = `Usage: serf-edge members [options]

  Outputs the members of the Serf cluster as its bridge last reported them
  (when it starts, on every member change and at least every minute), as
  'serf members' does. How old the report is, and which bridge made it, goes
  to stderr.

Options:

  -format=text|json         text (default), or json as 'serf members -format=json'
                            with the report's asOf, ageMs and bridgeId added.

  -name=<regexp>            Only members whose name matches the regexp.

  -status=<regexp>          Only members whose status (alive, leaving, left,
                            failed) matches the regexp.

  -tag KEY=REGEXP           Only members with the tag KEY matching the regexp;
                            may be given several times.

  Every regexp is anchored at the start and end and must match whole, as with
  'serf members'.

${EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const INVITE_HELP = `Usage: serf-edge invite -operator=<id> [options]

  Creates a one-time invite for an operator of the on-call page and prints
  its link, when it expires (15 minutes from now) and the link as a QR code.
  Opened on the operator's phone, the link creates a passkey registered for
  that operator (Face ID, fingerprint or screen lock; user verification is
  required); the first enrolment uses it up. Anyone holding the link before
  then can enrol a device as that operator: hand it over as you would a
  password, or scan the code from the screen. The sender needs the operators
  permission for the operator ("operators" in its SENDERS entry).

Options:

  -operator=<id>            The operator whose device to enrol, as configured in
                            the edge's OPERATORS. Required.

  -no-qr                    Print the link and its expiry without the QR code.

  -json                     Print the edge's answer as JSON ({operator, url,
                            expiresAt}); no QR code.

${OPERATOR_EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const DEVICES_HELP = `Usage: serf-edge devices [options]
       serf-edge devices revoke [options] id

  Lists the devices enrolled for the on-call page: each is one passkey of one
  operator, with its id, name, when it was enrolled and last used, and when
  it was revoked. Revoked devices stay listed.

  'devices revoke ID' revokes the device with that id (dev_...) at once: its
  sessions end and the edge refuses every action it signs from then on.
  Revoking a revoked device changes nothing. To enrol the operator's device
  again, create a new invite.

  The sender needs the operators permission for the operators concerned
  ("operators" in its SENDERS entry); the list shows the devices of every
  operator it may manage.

Options:

  -operator=<id>            Only the devices of this operator (listing only).

  -json                     Print the edge's answer as JSON: {"devices": [...]},
                            or {"device": {...}} for revoke.

${OPERATOR_EDGE_OPTIONS}

Exit codes:
${exitTable}
`

export const json = (value: unknown): string => `${JSON.stringify(value)}\n`

/** What `event` prints once the edge queued the event. */
export function acceptedText(accepted: EventAccepted, name: string, coalesce: boolean): string {
  return (
    `Event '${name}' queued at the edge! Coalescing enabled: ${coalesce}\n` +
    `id:        ${accepted.id}\nsequence:  ${accepted.sequence}\ncluster:   ${accepted.cluster}\n`
  )
}

/** What `status` prints: one `label: value` line per field. */
export function statusText(status: EventStatus): string {
  const rows: [string, unknown][] = [
    ['id', status.id],
    ['cluster', status.cluster],
    ['sequence', status.sequence],
    ['name', status.name],
    ['coalesce', status.coalesce],
    ['status', status.status],
    ['enqueued', status.enqueuedAt],
    ['settled', status.settledAt],
    ['error', status.error],
  ]
  return rows
    .filter(([, value]) => value !== undefined)
    .map(([label, value]) => `${`${label}:`.padEnd(11)}${value}\n`)
    .join('')
}

/** The line `event -wait` ends with. */
export function settledText(status: EventStatus): string {
  const at = status.settledAt ? ` at ${status.settledAt}` : ''
  return `Event '${status.name}' ${status.status}${at}.\n`
}
