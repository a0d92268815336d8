/**
 * What a chat command or a button click does, whatever the platform: parse, check through the
 * one enqueue path, hold for a confirmation or an approval when the grants say so, and answer
 * with a platform-neutral reply that the Slack and Discord doors render. Never waits for Serf:
 * the outcome is reported later by the cluster's queue (follow-ups). Queries and members are
 * asks.ts's.
 */
import { fromBase64, sha256Hex, toBase64, utf8 } from '../../../protocol/bytes.ts'
import { eventRequestSchema } from '../../../protocol/event.ts'
import type { ClusterSettings } from '../../config.ts'
import { admitEvent, enqueueEvent, queueOf, refuseAttempt } from '../../enqueue.ts'
import { ProblemError } from '../../problem.ts'
import { askInChat, membersInChat } from './asks.ts'
import { parseCommand } from './command.ts'
import { type ChatContext, type ChatReply, followupOf, principalOf, say, settingsOf } from './context.ts'
import { type ChatActor, careFor, grantsOf, principalId } from './policy.ts'
import { helpText, statusText } from './replies.ts'

export type { ChatContext, ChatReply } from './context.ts'

/** How long a confirmation or an approval stays open. */
export const PENDING_TTL_MS = 5 * 60_000

/** What a confirmation holds, opaque to the queue. */
interface HeldEvent {
  actor: ChatActor
  cluster: string
  name: string
  payloadBase64: string
  coalesce: boolean
  announce: boolean
}

/** Run `/serf <text>`. */
export async function runCommand(ctx: ChatContext, text: string): Promise<ChatReply> {
  const command = parseCommand(text)
  if (command.kind === 'invalid') return say(`${command.reason}. Try \`/serf help\`.`)
  if (command.kind === 'help') return say(helpText(ctx.app, ctx.actor))
  const cluster = settingsOf(ctx, command.cluster)
  if (typeof cluster === 'string') return say(cluster)
  if (command.kind === 'status') return say(await statusText(ctx, cluster, command.id))
  if (command.kind === 'query') return askInChat(ctx, cluster, command)
  if (command.kind === 'members') return membersInChat(ctx, cluster, command.status)

  const held: HeldEvent = {
    actor: ctx.actor,
    cluster: cluster.id,
    name: command.name,
    payloadBase64: toBase64(utf8(command.payload)),
    coalesce: command.coalesce,
    announce: false,
  }
  const principal = principalOf(ctx.app, ctx.actor, cluster.id)
  const channel = ctx.actor.channel
  try {
    // The API door's schema refuses such names before the enqueue path; a chat word can hold them.
    const name = eventRequestSchema.shape.name.safeParse(command.name)
    if (!name.success) {
      const problem = new ProblemError('invalid-event', `event ${name.error.issues[0]!.message}`)
      await refuseAttempt(ctx.env, { principal, cluster, channel, name: command.name }, problem)
    }
    await admitEvent(ctx.env, { principal, cluster, event: eventOf(held), channel })
  } catch (error) {
    if (error instanceof ProblemError) return say(`Not fired: ${error.message}`)
    throw error
  }
  const care = careFor(grantsOf(ctx.app, ctx.actor), cluster.id, command.name)
  held.announce = care.announce
  if (care.requirement === 'none') return fire(ctx, held, ctx.interactionId, await eventHash(held))
  return hold(ctx, cluster, held, care.requirement, care.group)
}

/** Run a click on a confirmation's button; `value` is the button's. */
export async function runClick(ctx: ChatContext, action: 'fire' | 'cancel', value: string): Promise<ChatReply> {
  const [clusterId, id] = value.split(':')
  const cluster = clusterId ? ctx.config.clusters.get(clusterId) : undefined
  if (!cluster || !id?.startsWith('pnd_')) return say('This button is not one of serf-edge’s; nothing fired.')
  const queue = queueOf(ctx.env, cluster.id)
  const clicker = principalId(ctx.actor)
  const decision = await queue.decidePending(id, clicker, action)
  // A click that fires nothing is an attempt too: the trail records who clicked and why not.
  const refuse = async (reason: string, text: string, request?: string, extra: Partial<ChatReply> = {}) => {
    const name = request ? (JSON.parse(request) as HeldEvent).name : undefined
    await queue.recordAttempt(cluster, { ...auditOf(ctx, name), principal: clicker, decision: 'refused', reason })
    return say(text, extra)
  }
  if (decision.kind === 'unknown') {
    return refuse(`unknown: no confirmation ${id}`, 'This confirmation is unknown (or long gone); nothing fired.')
  }
  if (decision.kind === 'expired') {
    const text = 'This confirmation expired (5 minutes); nothing fired. Run the command again.'
    return refuse('expired: the confirmation expired', text, decision.request, { replace: true })
  }
  if (decision.kind === 'used') {
    const by = decision.by ? ` by <@${decision.by.split(':').at(-1)}>` : ''
    const text = `This confirmation was already ${decision.state}${by}; nothing more fired.`
    return refuse(`already-${decision.state}: by ${decision.by}`, text, decision.request)
  }
  if (decision.kind === 'not-allowed') {
    return refuse(
      `forbidden: ${decision.reason}`,
      `You cannot do that: ${decision.reason}. Nothing fired.`,
      decision.request,
    )
  }
  const held = JSON.parse(decision.request) as HeldEvent
  if (decision.kind === 'cancelled') {
    await queue.recordAttempt(cluster, { ...auditOf(ctx, held.name), principal: clicker, decision: 'cancelled' })
    const text = `<@${ctx.actor.user}> cancelled \`${held.name}\` on ${held.cluster}; nothing fired.`
    return say(text, { replace: true })
  }
  if ((await eventHash(held)) !== decision.eventHash) {
    return refuse(
      'mismatch: the event differs from the one confirmed',
      'This confirmation does not match its event; nothing fired.',
      decision.request,
    )
  }
  if (decision.approvedBy) {
    await queue.recordAttempt(cluster, {
      ...auditOf(ctx, held.name),
      principal: decision.approvedBy,
      decision: 'approved',
    })
  }
  const approver = decision.approvedBy ? ctx.actor : undefined
  return { ...(await fire({ ...ctx, actor: held.actor }, held, id, decision.eventHash, approver)), replace: true }
}

/**
 * Queue a held event under `requestId`. An approved event was asked for in the channel, so its
 * reply and follow-up go to the channel too.
 */
async function fire(
  ctx: ChatContext,
  held: HeldEvent,
  requestId: string,
  hash: string,
  approver?: ChatActor,
): Promise<ChatReply> {
  const cluster = ctx.config.clusters.get(held.cluster)!
  const label = `\`${held.name}\`${held.payloadBase64 ? ` ${preview(held)}` : ''} on ${held.cluster}`
  const followup = followupOf(ctx, label, held.announce || approver !== undefined)
  try {
    const { accepted } = await enqueueEvent(ctx.env, {
      principal: principalOf(ctx.app, held.actor, held.cluster),
      cluster,
      event: eventOf(held),
      channel: held.actor.channel,
      requestId,
      bodyHash: hash,
      followup,
    })
    const queued = `queued as #${accepted.sequence} (${accepted.id})`
    if (approver) {
      const text = `<@${approver.user}> approved <@${held.actor.user}>’s ${label}: ${queued}`
      return { text, visibility: 'channel' }
    }
    if (held.announce) return { text: `<@${held.actor.user}> fired ${label}: ${queued}`, visibility: 'channel' }
    const later = followup
      ? 'You will hear when it is delivered.'
      : `Ask \`/serf status ${accepted.id} -cluster=${held.cluster}\` for its outcome.`
    return say(`${label}: ${queued}. ${later}`)
  } catch (error) {
    if (error instanceof ProblemError) return say(`Not fired: ${error.message}`)
    throw error
  }
}

async function hold(
  ctx: ChatContext,
  cluster: ClusterSettings,
  held: HeldEvent,
  requirement: 'confirm' | 'approval',
  group: string | undefined,
): Promise<ChatReply> {
  const id = `pnd_${toHex(crypto.getRandomValues(new Uint8Array(16)))}`
  const approvers = requirement === 'approval' ? (ctx.app.groups[group!] ?? []) : []
  await queueOf(ctx.env, cluster.id).openPending(
    cluster,
    {
      id,
      requester: principalId(held.actor),
      requirement,
      approvers: approvers.map((user) => principalId({ ...held.actor, user })),
      eventHash: await eventHash(held),
      request: JSON.stringify(held),
      ttlMs: PENDING_TTL_MS,
    },
    { ...auditOf(ctx, held.name), principal: principalId(held.actor), reason: `needs ${requirement}` },
  )
  const what = `\`${held.name}\`${held.payloadBase64 ? ` ${preview(held)}` : ''} on ${cluster.id} (coalesce ${held.coalesce})`
  const value = `${cluster.id}:${id}`
  if (requirement === 'confirm') {
    return say(`Fire ${what}? This asks for your confirmation; it expires in 5 minutes.`, {
      buttons: [
        { action: 'fire', label: 'Fire', value, danger: true },
        { action: 'cancel', label: 'Cancel', value, danger: false },
      ],
    })
  }
  return {
    text: `<@${held.actor.user}> asks to fire ${what}. It needs approval by someone in "${group}" other than them; expires in 5 minutes.`,
    visibility: 'channel',
    buttons: [
      { action: 'fire', label: 'Approve and fire', value, danger: true },
      { action: 'cancel', label: 'Decline', value, danger: false },
    ],
  }
}

const eventOf = (held: HeldEvent) => ({
  name: held.name,
  payload: fromBase64(held.payloadBase64),
  coalesce: held.coalesce,
})

function auditOf(ctx: ChatContext, name: string | undefined) {
  return { door: ctx.actor.platform, channel: ctx.actor.channel, name }
}

/** What a confirmation binds: the canonical event and where it goes. */
const eventHash = (held: HeldEvent) =>
  sha256Hex(JSON.stringify([held.cluster, held.name, held.payloadBase64, held.coalesce, principalId(held.actor)]))

function preview(held: HeldEvent): string {
  const text = new TextDecoder().decode(fromBase64(held.payloadBase64))
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text)
}

const toHex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
