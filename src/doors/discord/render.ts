/**
 * A platform-neutral chat reply as Discord's interaction response: a message (type 4), or an
 * update of the message a button was clicked on (type 7), with buttons in one action row.
 */
import type { ChatReply } from '../chat/flow.ts'

/** Interaction response types (Discord's `InteractionCallbackType`). */
export const CALLBACK = { pong: 1, message: 4, updateMessage: 7 } as const

/** Message flag: only the person who acted sees it. */
export const EPHEMERAL = 64

/** Discord's limits: a button's `custom_id`, a message's `content`. */
export const MAX_CUSTOM_ID = 100
const MAX_CONTENT = 2000

/** What a button's `custom_id` starts with before the chat core's value. */
export const CUSTOM_ID_PREFIX = { fire: 'serf:fire:', cancel: 'serf:cancel:' } as const

const CUSTOM_ID = /^serf:(fire|cancel):(.+)$/s

/** A button's action and value, or undefined for a `custom_id` that is not one of ours. */
export function parseCustomId(id: string): { action: 'fire' | 'cancel'; value: string } | undefined {
  const match = CUSTOM_ID.exec(id)
  return match ? { action: match[1] as 'fire' | 'cancel', value: match[2]! } : undefined
}

/** An interaction response, as JSON. */
export interface InteractionResponse {
  type: number
  data?: Record<string, unknown>
}

/**
 * The response for `reply`: an update of the clicked message when the reply replaces it, else a
 * new message, ephemeral unless the reply is for the channel.
 * @example renderReply({ text: 'queued', visibility: 'ephemeral' }, 'new') // type 4, flags 64
 */
export function renderReply(reply: ChatReply, on: 'new' | 'click'): InteractionResponse {
  const update = on === 'click' && reply.replace === true
  const chars = [...reply.text]
  const content = chars.length > MAX_CONTENT ? `${chars.slice(0, MAX_CONTENT - 1).join('')}…` : reply.text
  const buttons = (reply.buttons ?? []).map((button) => ({
    type: 2,
    style: button.danger ? 4 : 2,
    label: button.label,
    custom_id: `${CUSTOM_ID_PREFIX[button.action]}${button.value}`,
  }))
  return {
    type: update ? CALLBACK.updateMessage : CALLBACK.message,
    data: {
      content,
      // An update keeps the message's flags; an empty list is what takes its buttons away.
      components: buttons.length > 0 ? [{ type: 1, components: buttons }] : [],
      ...(!update && reply.visibility === 'ephemeral' ? { flags: EPHEMERAL } : {}),
      // Texts quote payloads, which may say @everyone: mentions render, but nobody is pinged.
      allowed_mentions: { parse: [] },
    },
  }
}
