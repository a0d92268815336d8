/**
 * A platform-neutral chat reply as Slack messages: a command's answer, or the posts a click's
 * `response_url` gets (replacing the message the buttons were on, or adding one).
 */
import type { ChatReply } from '../chat/flow.ts'
import { BUTTON_ACTION_ID } from './requests.ts'

/** A message as a command's answer and a `response_url` take it. */
export interface SlackMessage {
  response_type?: 'ephemeral' | 'in_channel'
  replace_original?: boolean
  delete_original?: boolean
  text?: string
  blocks?: Record<string, unknown>[]
}

/** Block Kit's limit on a section's text. */
const MAX_SECTION_CHARS = 3000

/**
 * The reply's text as Slack markup: `&`, `<` and `>` escaped (a quoted payload saying
 * `<!channel>` would notify everyone), the core's own user mentions kept.
 */
export function slackMarkup(text: string): string {
  const escaped = text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
  return escaped.replace(/&lt;@([UW][A-Z0-9]+)&gt;/g, '<@$1>')
}

/**
 * The answer to a command: ephemeral unless the reply is for the channel; buttons in an
 * actions block, their `value` the core's opaque pending id.
 * @example renderReply({ text: 'queued as #42', visibility: 'ephemeral' }) // { response_type: 'ephemeral', … }
 */
export function renderReply(reply: ChatReply): SlackMessage {
  const text = slackMarkup(reply.text)
  const message: SlackMessage = { response_type: reply.visibility === 'channel' ? 'in_channel' : 'ephemeral', text }
  if (!reply.buttons?.length) return message
  const chars = [...text]
  const section = chars.length > MAX_SECTION_CHARS ? `${chars.slice(0, MAX_SECTION_CHARS - 1).join('')}…` : text
  const buttons = reply.buttons.map((button) => ({
    type: 'button',
    action_id: BUTTON_ACTION_ID[button.action],
    text: { type: 'plain_text', text: button.label },
    value: button.value,
    ...(button.danger ? { style: 'danger' } : {}),
  }))
  return {
    ...message,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: section } },
      { type: 'actions', block_id: 'serf_confirmation', elements: buttons },
    ],
  }
}

/**
 * The posts answering a click, in order, to its `response_url` (at most 2 of the 5 Slack
 * allows; followups.ts leaves room for them). A replacement keeps the clicked message's
 * visibility; an announcement cannot replace an ephemeral confirmation, so that one is
 * deleted and the announcement posted to the channel.
 */
export function renderClickReply(reply: ChatReply, clickedEphemeral: boolean): SlackMessage[] {
  const message = renderReply(reply)
  if (!reply.replace) return [{ ...message, replace_original: false }]
  if (reply.visibility === 'channel' && clickedEphemeral) {
    return [{ delete_original: true }, { ...message, replace_original: false }]
  }
  return [{ ...message, response_type: clickedEphemeral ? 'ephemeral' : 'in_channel', replace_original: true }]
}
