/** A cluster's recent events: what the page shows on the home screen and after an action. */
import type { RecentEvent } from '../../../protocol/page.ts'
import { clock, h } from '../dom.ts'

/** A section for `cluster` whose list is filled (and refilled) by `fill`. */
export function recentSection(cluster: string): { element: HTMLElement; fill(events: RecentEvent[] | string): void } {
  const list = h('div', { class: 'recent-body' }, h('p', { class: 'hint' }, 'Loading…'))
  const element = h(
    'section',
    { class: 'recent', 'aria-label': `Recent events on ${cluster}` },
    h('h3', {}, cluster),
    list,
  )
  return {
    element,
    fill(events) {
      if (typeof events === 'string') list.replaceChildren(h('p', { class: 'message error' }, events))
      else if (events.length === 0) list.replaceChildren(h('p', { class: 'hint' }, 'No events yet.'))
      else list.replaceChildren(h('ol', { class: 'events' }, ...events.map(eventItem)))
    },
  }
}

function eventItem(event: RecentEvent): HTMLElement {
  return h(
    'li',
    { class: 'event-row', 'data-id': event.id },
    h('span', { class: 'event-name' }, event.name),
    h('span', { class: `badge ${event.status}` }, event.status),
    h('span', { class: 'who' }, event.principal),
    h('time', { datetime: event.settledAt ?? event.enqueuedAt }, clock(event.settledAt ?? event.enqueuedAt)),
    event.error ? h('span', { class: 'event-error' }, event.error) : null,
  )
}
