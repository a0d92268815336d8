/**
 * Between a tap on an action and the passkey: the payload asked for (checked against the
 * action's pattern on the page first), then the confirm screen showing exactly the event that
 * will be signed, confirmed by a tap, a press-and-hold, or a request for approval.
 */
import type { PageEvent, QuickAction } from '../../../protocol/page.ts'
import { clock, eventDetails, h, messageArea } from '../dom.ts'
import { holdButton } from '../hold-button.ts'

type Ask = Extract<QuickAction['payload'], { kind: 'ask' }>

export interface AskOptions {
  action: QuickAction & { payload: Ask }
  value?: string
  onContinue(payload: string): void
  onCancel(): void
}

/** Whether `value` matches `pattern` as a whole; `undefined` when the page cannot compile it. */
export function fullMatch(pattern: string, value: string): boolean | undefined {
  try {
    return new RegExp(`^(?:${pattern})$`).test(value)
  } catch {
    return undefined
  }
}

export function askScreen(options: AskOptions): HTMLElement {
  const { action } = options
  const ask = action.payload
  const error = messageArea()
  const input = h('input', {
    id: 'ask-value',
    name: 'payload',
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    'aria-describedby': 'ask-hint',
    placeholder: ask.example,
    value: options.value,
  })
  const cancel = h('button', { type: 'button', class: 'quiet' }, 'Cancel')
  cancel.addEventListener('click', options.onCancel)
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('label', { for: 'ask-value' }, ask.label),
    input,
    h(
      'p',
      { class: 'hint', id: 'ask-hint' },
      'Must match ',
      h('code', {}, ask.pattern),
      ask.example ? `, e.g. ${ask.example}` : '',
    ),
    error,
    h('div', { class: 'buttons' }, cancel, h('button', { type: 'submit', class: 'primary' }, 'Continue')),
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const matches = fullMatch(ask.pattern, input.value)
    if (matches) {
      options.onContinue(input.value)
      return
    }
    input.setAttribute('aria-invalid', 'true')
    error.say(
      matches === undefined
        ? `This page cannot check the pattern ${ask.pattern}; nothing was sent.`
        : `“${input.value}” is not a valid ${ask.label}: it must match ${ask.pattern}. Nothing was sent.`,
    )
    input.focus()
  })
  return h(
    'section',
    { class: 'screen' },
    h('h2', {}, action.label),
    h('p', {}, `${action.cluster} · ${action.name}`),
    form,
  )
}

/** How the confirm screen confirms: the action's own way, or an approver's approval. */
export type ConfirmMode = QuickAction['confirm'] | 'approve'

export interface ConfirmOptions {
  title: string
  /** A line above the event, e.g. who asked for it. */
  intro?: string
  event: PageEvent
  danger: boolean
  mode: ConfirmMode
  approvers?: string[]
  error?: string
  onConfirm(): void
  onCancel(): void
}

export interface ConfirmScreen {
  element: HTMLElement
  /** Shows a release of the hold button before its time. */
  note(text: string): void
}

const CONFIRM_LABEL: Record<Exclude<ConfirmMode, 'hold'>, string> = {
  tap: 'Confirm and sign',
  approval: 'Request approval',
  approve: 'Approve and sign',
}

export function confirmScreen(options: ConfirmOptions): ConfirmScreen {
  const error = messageArea()
  const note = messageArea('note')
  if (options.error) error.say(options.error)
  const cancel = h('button', { type: 'button', class: 'quiet' }, 'Cancel')
  cancel.addEventListener('click', options.onCancel)
  let busy = false
  const go = () => {
    if (busy) return
    busy = true
    note.say('Waiting for the passkey…')
    error.say('')
    for (const button of element.querySelectorAll('button')) button.disabled = true
    options.onConfirm()
  }
  let confirm: HTMLElement
  if (options.mode === 'hold') {
    confirm = holdButton({
      label: 'Hold to confirm and sign',
      danger: options.danger,
      onHeld: go,
      onReleasedEarly: () => note.say('Released too early: nothing was sent.'),
    })
  } else {
    confirm = h(
      'button',
      { type: 'button', class: `primary${options.danger ? ' danger' : ''}` },
      CONFIRM_LABEL[options.mode],
    )
    confirm.addEventListener('click', go)
  }
  const element = h(
    'section',
    { class: `screen confirm${options.danger ? ' is-danger' : ''}` },
    h('h2', {}, options.title),
    options.danger ? h('p', { class: 'tag danger' }, 'Dangerous') : null,
    options.intro ? h('p', {}, options.intro) : null,
    h('p', {}, 'Your passkey will sign exactly this:'),
    eventDetails(options.event),
    options.mode === 'approval'
      ? h('p', { class: 'hint' }, `It is sent once ${(options.approvers ?? []).join(' or ')} approves.`)
      : null,
    error,
    h('div', { class: 'buttons' }, cancel, confirm),
    // Below the buttons: a note appearing must not move the hold button from under the finger.
    note,
  )
  return { element, note: (text) => note.say(text) }
}

export interface PendingOptions {
  title: string
  event: PageEvent
  approvers: string[]
  expiresAt: string
  onDone(): void
}

/** After a request for approval: who has to approve it, and until when. */
export function pendingScreen(options: PendingOptions): HTMLElement {
  const done = h('button', { type: 'button', class: 'primary' }, 'Done')
  done.addEventListener('click', options.onDone)
  return h(
    'section',
    { class: 'screen' },
    h('h2', {}, options.title),
    h(
      'p',
      { class: 'state pending', role: 'status', 'aria-label': 'Event status' },
      `Waiting for approval by ${options.approvers.join(' or ')}`,
    ),
    h('p', { class: 'hint' }, `The request expires at ${clock(options.expiresAt)}.`),
    eventDetails(options.event),
    done,
  )
}
