/**
 * A press-and-hold confirmation: the action goes ahead only once the button has been held for
 * the whole duration, with the progress visible; letting go earlier cancels and says so. Pointer
 * (touch, mouse, pen) and keyboard (Space or Enter held down) both work.
 */
import { h } from './dom.ts'

export interface HoldButtonOptions {
  label: string
  /** How long to hold; 1.5 s is long enough not to happen by accident in a pocket. */
  durationMs?: number
  danger?: boolean
  onHeld(): void
  onReleasedEarly(): void
}

/**
 * @example holdButton({ label: 'Hold to fire', onHeld: go, onReleasedEarly: () => say('Nothing was sent.') })
 */
export function holdButton(options: HoldButtonOptions): HTMLElement {
  const durationMs = options.durationMs ?? 1500
  const hint = h('p', { class: 'hint', id: 'hold-hint' }, `Press and hold for ${durationMs / 1000} seconds.`)
  const progress = h('progress', { class: 'hold-progress', max: String(durationMs), value: '0', 'aria-hidden': 'true' })
  const button = h(
    'button',
    { type: 'button', class: `primary hold${options.danger ? ' danger' : ''}`, 'aria-describedby': 'hold-hint' },
    h('span', {}, options.label),
    progress,
  )
  let startedAt: number | undefined
  let frame = 0
  let done = false

  const tick = (now: number) => {
    if (startedAt === undefined) return
    const held = now - startedAt
    progress.value = Math.min(held, durationMs)
    if (held >= durationMs) {
      startedAt = undefined
      done = true
      button.disabled = true
      button.classList.remove('holding')
      options.onHeld()
      return
    }
    frame = requestAnimationFrame(tick)
  }
  const start = () => {
    if (done || startedAt !== undefined) return
    startedAt = performance.now()
    button.classList.add('holding')
    frame = requestAnimationFrame(tick)
  }
  const release = () => {
    if (startedAt === undefined) return
    startedAt = undefined
    cancelAnimationFrame(frame)
    progress.value = 0
    button.classList.remove('holding')
    options.onReleasedEarly()
  }

  button.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return
    button.setPointerCapture(event.pointerId)
    start()
  })
  for (const type of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) {
    button.addEventListener(type, release)
  }
  button.addEventListener('keydown', (event) => {
    if (event.key !== ' ' && event.key !== 'Enter') return
    event.preventDefault()
    if (!event.repeat) start()
  })
  button.addEventListener('keyup', (event) => {
    if (event.key === ' ' || event.key === 'Enter') release()
  })
  button.addEventListener('blur', release)
  // A long press would otherwise open the phone's context menu or select the label.
  button.addEventListener('contextmenu', (event) => event.preventDefault())
  return h('div', { class: 'hold-wrap' }, button, hint)
}
