/**
 * After an action was fired: its status as the edge reports it, live, from queued until the
 * bridge settles it (delivered, or rejected with Serf's own text) or it expires; then the
 * cluster's recent events.
 */
import type { PageEvent, RecentEvent } from '../../../protocol/page.ts'
import type { EventStatus } from '../../../protocol/wire.ts'
import { clock, eventDetails, h } from '../dom.ts'
import { recentSection } from './recent.ts'

export interface StatusOptions {
  title: string
  event: PageEvent
  onDone(): void
}

export interface StatusScreen {
  element: HTMLElement
  update(status: EventStatus): void
  /** A problem reading the status; the page keeps trying. */
  trouble(text: string): void
  fillRecent(events: RecentEvent[] | string): void
}

const STATE_TEXT: Record<EventStatus['status'], string> = {
  queued: 'Queued: waiting for the bridge to deliver it…',
  delivered: 'Delivered',
  rejected: 'Rejected',
  expired: 'Expired: not delivered in time',
}

export function statusScreen(options: StatusOptions): StatusScreen {
  const state = h('p', { class: 'state queued', role: 'status', 'aria-label': 'Event status' }, STATE_TEXT.queued)
  const detail = h('p', { class: 'hint' })
  const trouble = h('p', { class: 'message error', role: 'alert', hidden: true })
  const recent = recentSection(options.event.cluster)
  const done = h('button', { type: 'button', class: 'primary' }, 'Done')
  done.addEventListener('click', options.onDone)
  const element = h(
    'section',
    { class: 'screen' },
    h('h2', {}, options.title),
    state,
    detail,
    trouble,
    eventDetails(options.event),
    done,
    h('h2', {}, 'Recent events'),
    recent.element,
  )
  return {
    element,
    update(status) {
      trouble.hidden = true
      state.className = `state ${status.status}`
      state.textContent =
        status.status === 'rejected' ? `Rejected: ${status.error ?? 'Serf gave no reason'}` : STATE_TEXT[status.status]
      detail.textContent = `Event ${status.id}, sequence ${status.sequence}, queued at ${clock(status.enqueuedAt)}${
        status.settledAt ? `, settled at ${clock(status.settledAt)}` : ''
      }.`
    },
    trouble(text) {
      trouble.textContent = text
      trouble.hidden = false
    },
    fillRecent: recent.fill,
  }
}
