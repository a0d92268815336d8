/**
 * Building the page's elements from script: text always goes in as text, never as markup, so
 * nothing an event name or a payload holds can become HTML; and no `style` attribute is ever
 * written, which the Content-Security-Policy (`style-src 'self'`) would refuse anyway.
 */

type Child = Node | string | false | null | undefined
type Attributes = Record<string, string | boolean | undefined>

/**
 * An element with attributes (`true` sets an empty one, `false`/`undefined` leaves it out) and
 * children (strings become text nodes; `false`, `null` and `undefined` are skipped).
 * @example h('button', { type: 'button', class: 'danger' }, 'Restart web')
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '')
    else if (typeof value === 'string') element.setAttribute(name, value)
  }
  element.append(...children.filter((child): child is Node | string => child !== false && child != null))
  return element
}

/** Replace what the page shows with `screen` and move focus to its heading, for screen readers. */
export function show(screen: HTMLElement): void {
  const root = document.getElementById('app')!
  root.replaceChildren(screen)
  const heading = screen.querySelector<HTMLElement>('h1, h2')
  if (heading) {
    heading.tabIndex = -1
    heading.focus({ preventScroll: true })
  }
  window.scrollTo(0, 0)
}

/** A message area that screen readers announce when its text is set; hidden while empty. */
export function messageArea(kind: 'error' | 'note' = 'error'): HTMLParagraphElement & { say(text: string): void } {
  const area = h('p', { class: `message ${kind}`, role: kind === 'error' ? 'alert' : 'status', hidden: true })
  return Object.assign(area, {
    say(text: string) {
      area.textContent = text
      area.hidden = text === ''
    },
  })
}

/** A time of day as the phone shows it, e.g. `02:13:07`. */
export const clock = (iso: string): string =>
  new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })

/** The event's fields as a definition list: exactly what is sent and signed. */
export function eventDetails(event: {
  cluster: string
  name: string
  payload: string
  coalesce: boolean
}): HTMLElement {
  const payload =
    event.payload === '' ? h('span', { class: 'empty' }, '(empty)') : h('code', { class: 'payload' }, event.payload)
  return h(
    'dl',
    { class: 'event', 'aria-label': 'Event to send' },
    h('dt', {}, 'Cluster'),
    h('dd', { 'data-field': 'cluster' }, event.cluster),
    h('dt', {}, 'Event'),
    h('dd', { 'data-field': 'name' }, event.name),
    h('dt', {}, 'Payload'),
    h('dd', { 'data-field': 'payload' }, payload),
    h('dt', {}, 'Coalesce'),
    h('dd', { 'data-field': 'coalesce' }, event.coalesce ? 'yes' : 'no'),
  )
}
