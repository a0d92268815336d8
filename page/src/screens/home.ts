/**
 * The home screen: who is signed in, the approvals waiting for them, their quick actions, the
 * custom event form when their scope allows it, and the recent events of their clusters.
 * Offline (answers from the service worker's cache) it shows the same, read-only.
 */
import type { ApprovalRequest, Me, PageEvent, QuickAction, RecentEvent } from '../../../protocol/page.ts'
import { clock, h, messageArea } from '../dom.ts'
import { recentSection } from './recent.ts'

export interface HomeOptions {
  me: Me
  /** Set when offline: when the edge gave the answers shown (`undefined` inside: not known). */
  offline: { since: string | undefined } | undefined
  notice?: string
  onAction(action: QuickAction): void
  onApproval(approval: ApprovalRequest): void
  onCustom(event: PageEvent): void
  onRefresh(): void
  onSignOut(): void
}

export interface HomeScreen {
  element: HTMLElement
  /** Shows a cluster's recent events, or why they could not be read. */
  fillRecent(cluster: string, events: RecentEvent[] | string): void
  error(text: string): void
}

export function homeScreen(options: HomeOptions): HomeScreen {
  const { me, offline } = options
  const readOnly = offline !== undefined
  const error = messageArea()
  const signOut = h('button', { type: 'button', class: 'quiet' }, 'Sign out')
  signOut.addEventListener('click', options.onSignOut)
  signOut.disabled = readOnly
  const refresh = h('button', { type: 'button', class: 'quiet' }, 'Refresh')
  refresh.addEventListener('click', options.onRefresh)

  const recents = new Map(me.clusters.map((cluster) => [cluster, recentSection(cluster)]))
  const element = h(
    'section',
    { class: 'screen home' },
    h(
      'header',
      { class: 'bar' },
      h('div', {}, h('h1', {}, 'On-call'), h('p', { class: 'who' }, `${me.operator} · ${me.device.name}`)),
      signOut,
    ),
    offline
      ? h(
          'p',
          { class: 'banner offline', role: 'status' },
          h('strong', {}, 'Offline. '),
          offline.since
            ? `Statuses as of ${clock(offline.since)}, read-only: nothing can be fired until the edge is back.`
            : 'Read-only: nothing can be fired until the edge is back.',
        )
      : null,
    options.notice ? h('p', { class: 'message note', role: 'status' }, options.notice) : null,
    error,
    me.approvals.length > 0 ? approvalsSection(me.approvals, readOnly, options.onApproval) : null,
    actionsSection(me.actions, readOnly, options.onAction),
    me.custom ? customSection(me.custom, readOnly, options.onCustom) : null,
    h(
      'section',
      { 'aria-labelledby': 'recent-heading' },
      h('div', { class: 'section-head' }, h('h2', { id: 'recent-heading' }, 'Recent events'), refresh),
      ...[...recents.values()].map((recent) => recent.element),
    ),
    h('p', { class: 'hint' }, `Session until ${clock(me.sessionExpiresAt)}.`),
  )
  return {
    element,
    fillRecent: (cluster, events) => recents.get(cluster)?.fill(events),
    error: (text) => error.say(text),
  }
}

function actionsSection(actions: QuickAction[], readOnly: boolean, onAction: (action: QuickAction) => void) {
  const items = actions.map((action) => {
    const button = h(
      'button',
      { type: 'button', class: `action${action.danger ? ' danger' : ''}`, 'data-action': action.id },
      h('span', { class: 'action-label' }, action.label),
      h('span', { class: 'action-meta' }, `${action.cluster} · ${action.name}${payloadHint(action)}`),
      h('span', { class: 'action-tags' }, ...actionTags(action)),
    )
    button.disabled = readOnly
    button.addEventListener('click', () => onAction(action))
    return h('li', {}, button)
  })
  return h(
    'section',
    { 'aria-labelledby': 'actions-heading' },
    h('h2', { id: 'actions-heading' }, 'Quick actions'),
    items.length > 0 ? h('ul', { class: 'actions' }, ...items) : h('p', { class: 'hint' }, 'No quick actions set up.'),
  )
}

const payloadHint = (action: QuickAction): string =>
  action.payload.kind === 'fixed'
    ? action.payload.value
      ? ` · ${action.payload.value}`
      : ''
    : ` · <${action.payload.label}>`

function actionTags(action: QuickAction): HTMLElement[] {
  const tags: HTMLElement[] = []
  if (action.danger) tags.push(h('span', { class: 'tag danger' }, 'Dangerous'))
  if (action.confirm === 'hold') tags.push(h('span', { class: 'tag' }, 'Hold to confirm'))
  if (action.confirm === 'approval') {
    tags.push(h('span', { class: 'tag' }, `Needs approval by ${(action.approvers ?? []).join(', ')}`))
  }
  return tags
}

/** An operator as people call them: the edge may name the requester by principal, `page:<operator>`. */
export const operatorName = (requester: string): string => requester.replace(/^page:/, '')

function approvalsSection(approvals: ApprovalRequest[], readOnly: boolean, onApproval: (a: ApprovalRequest) => void) {
  const items = approvals.map((approval) => {
    const button = h(
      'button',
      { type: 'button', class: `action${approval.danger ? ' danger' : ''}`, 'data-approval': approval.id },
      h('span', { class: 'action-label' }, `Review: ${approval.label}`),
      h(
        'span',
        { class: 'action-meta' },
        `${operatorName(approval.requester)} asks · ${approval.event.cluster} · ${approval.event.name} · until ${clock(approval.expiresAt)}`,
      ),
    )
    button.disabled = readOnly
    button.addEventListener('click', () => onApproval(approval))
    return h('li', {}, button)
  })
  return h(
    'section',
    { 'aria-labelledby': 'approvals-heading', class: 'approvals' },
    h('h2', { id: 'approvals-heading' }, 'Waiting for your approval'),
    h('ul', { class: 'actions' }, ...items),
  )
}

function customSection(custom: NonNullable<Me['custom']>, readOnly: boolean, onCustom: (event: PageEvent) => void) {
  const cluster = h(
    'select',
    { id: 'custom-cluster', name: 'cluster' },
    ...custom.clusters.map((id) => h('option', { value: id }, id)),
  )
  const name = h('input', { id: 'custom-name', name: 'name', required: true, autocomplete: 'off', maxlength: '256' })
  const payload = h('textarea', { id: 'custom-payload', name: 'payload', rows: '3', maxlength: '9216' })
  const coalesce = h('input', { id: 'custom-coalesce', name: 'coalesce', type: 'checkbox', checked: true })
  const error = messageArea()
  const review = h('button', { type: 'submit', class: 'primary' }, 'Review custom event')
  const form = h(
    'form',
    { class: 'stack', novalidate: true, 'aria-labelledby': 'custom-heading' },
    h('label', { for: 'custom-cluster' }, 'Cluster'),
    cluster,
    h('label', { for: 'custom-name' }, 'Event name'),
    name,
    h('p', { class: 'hint' }, `Allowed: ${custom.events.join(', ')}`),
    h('label', { for: 'custom-payload' }, 'Payload'),
    payload,
    h('label', { class: 'check', for: 'custom-coalesce' }, coalesce, 'Coalesce'),
    error,
    review,
  )
  for (const field of [cluster, name, payload, coalesce, review]) field.disabled = readOnly
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    if (!name.value) {
      name.setAttribute('aria-invalid', 'true')
      error.say('Give the event a name.')
      return
    }
    onCustom({ cluster: cluster.value, name: name.value, payload: payload.value, coalesce: coalesce.checked })
  })
  return h('section', {}, h('h2', { id: 'custom-heading' }, 'Custom event'), form)
}
