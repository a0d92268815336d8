/**
 * The chat core's shared vocabulary: a platform-neutral reply, one interaction's context, and
 * what every command needs of it: its cluster, the actor as the enqueue and ask paths see them,
 * and where a later follow-up may go.
 */
import type { Asker } from '../../ask.ts'
import type { ClusterSettings, EdgeConfig } from '../../config.ts'
import type { Env } from '../../env.ts'
import type { FollowupTarget } from '../../queue/followups.ts'
import { type ChatActor, type ChatApp, clusterFor, grantsOf, mayReplyTo, principalId, scopeOf } from './policy.ts'

/** A reply, before a platform renders it. */
export interface ChatReply {
  text: string
  /** `ephemeral`: the person who acted alone; `channel`: everyone in it. */
  visibility: 'ephemeral' | 'channel'
  /** Replace the message a button was clicked on (the confirmation) instead of adding one. */
  replace?: boolean
  buttons?: { action: 'fire' | 'cancel'; label: string; value: string; danger: boolean }[]
}

/** One interaction: who, through which app, and where later replies may go. */
export interface ChatContext {
  env: Pick<Env, 'CLUSTER_QUEUE'>
  config: Pick<EdgeConfig, 'clusters'>
  app: ChatApp
  actor: ChatActor
  /** Unique per interaction (idempotency of what it queues). */
  interactionId: string
  /** Where the outcome can be reported later (Slack `response_url`, Discord webhook), if any. */
  replyUrl?: string
  replyExpiresAt: number
  /** The platform's own origin for follow-ups (`https://hooks.slack.com`, `https://discord.com`). */
  platformOrigin: string
}

/** A reply for the person who acted alone. */
export const say = (text: string, extra: Partial<ChatReply> = {}): ChatReply => ({
  text,
  visibility: 'ephemeral',
  ...extra,
})

/** The cluster a command goes to, or what to tell the user when there is none. */
export function settingsOf(ctx: ChatContext, asked: string | undefined): ClusterSettings | string {
  const id = clusterFor(ctx.app, ctx.actor.channel, asked)
  if (!id) return 'No cluster given and none configured for this channel: add `-cluster=NAME`.'
  return ctx.config.clusters.get(id) ?? `Unknown cluster "${id}".`
}

/** The actor as the enqueue and ask paths see it, with what its grants allow on `cluster`. */
export function principalOf(app: ChatApp, actor: ChatActor, cluster: string): Asker {
  const platform = actor.platform === 'slack' ? 'Slack' : 'Discord'
  return {
    id: principalId(actor),
    door: actor.platform,
    label: `${platform} user ${actor.user} (${app.id})`,
    scope: scopeOf(grantsOf(app, actor), cluster),
  }
}

/** Where the outcome goes: the interaction's reply URL, when the app may post there. */
export function followupOf(ctx: ChatContext, label: string, announce: boolean): FollowupTarget | undefined {
  if (!ctx.replyUrl) return undefined
  if (!mayReplyTo(ctx.app, ctx.replyUrl, ctx.platformOrigin)) {
    // The URL itself is a credential for the reply; only its origin is logged.
    const origin = URL.canParse(ctx.replyUrl) ? new URL(ctx.replyUrl).origin : 'not a URL'
    console.warn(
      JSON.stringify({ level: 'warn', msg: 'no follow-up: reply origin not allowed', app: ctx.app.id, origin }),
    )
    return undefined
  }
  return { kind: ctx.actor.platform, url: ctx.replyUrl, expiresAt: ctx.replyExpiresAt, announce, label }
}
