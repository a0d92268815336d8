/** The screens before a session: signing in with a passkey, and enrolling a device from an invite. */
import { h, messageArea } from '../dom.ts'

export interface SignInOptions {
  /** Why the page asks, e.g. after the session ended. */
  notice?: string
  error?: string
  onSignIn(): void
}

export function signInScreen(options: SignInOptions): HTMLElement {
  const error = messageArea()
  if (options.error) error.say(options.error)
  const button = h('button', { type: 'button', class: 'primary' }, 'Sign in with passkey')
  button.addEventListener('click', () => {
    button.disabled = true
    button.textContent = 'Waiting for the passkey…'
    options.onSignIn()
  })
  return h(
    'section',
    { class: 'screen center' },
    h('h1', {}, 'serf-edge on-call'),
    options.notice ? h('p', { class: 'message note', role: 'status' }, options.notice) : null,
    h('p', {}, 'Sign in with the passkey of this device to see your quick actions.'),
    error,
    button,
    h('p', { class: 'hint' }, 'No passkey yet? Ask for an invite link: serf-edge invite -operator=<you>.'),
  )
}

export interface EnrolOptions {
  operator: string
  deviceName: string
  error?: string
  onCreate(deviceName: string): void
}

export function enrolScreen(options: EnrolOptions): HTMLElement {
  const error = messageArea()
  if (options.error) error.say(options.error)
  const name = h('input', {
    id: 'device-name',
    name: 'deviceName',
    required: true,
    maxlength: '64',
    autocomplete: 'off',
    value: options.deviceName,
  })
  const button = h('button', { type: 'submit', class: 'primary' }, 'Create passkey')
  const form = h(
    'form',
    { class: 'stack', novalidate: true },
    h('label', { for: 'device-name' }, 'Device name'),
    name,
    h('p', { class: 'hint' }, 'Listed by serf-edge devices, so this device can be told apart and revoked.'),
    error,
    button,
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const deviceName = name.value.trim()
    if (!deviceName) {
      name.setAttribute('aria-invalid', 'true')
      error.say('Give this device a name.')
      return
    }
    button.disabled = true
    button.textContent = 'Waiting for the passkey…'
    options.onCreate(deviceName)
  })
  return h(
    'section',
    { class: 'screen' },
    h('h1', {}, 'Enrol this device'),
    h('p', {}, 'This invite lets you create a passkey for operator ', h('strong', {}, options.operator), '.'),
    form,
  )
}

export interface InviteProblemOptions {
  /** The edge refused the invite (used, expired, unknown) rather than not answering. */
  invalid: boolean
  detail: string
  onRetry(): void
  onSignIn(): void
}

/** An invite that cannot be used: refused by the edge, or not checked for want of an answer. */
export function inviteProblemScreen(options: InviteProblemOptions): HTMLElement {
  const signIn = h(
    'button',
    { type: 'button', class: options.invalid ? 'primary' : 'quiet' },
    'Sign in with an existing passkey',
  )
  signIn.addEventListener('click', options.onSignIn)
  const retry = h('button', { type: 'button', class: 'primary' }, 'Try again')
  retry.addEventListener('click', options.onRetry)
  return h(
    'section',
    { class: 'screen center' },
    h('h1', {}, options.invalid ? 'Invite link not valid' : 'Could not open the invite'),
    h('p', { class: 'message error', role: 'alert' }, options.detail),
    options.invalid ? h('p', {}, 'An invite link works once, within 15 minutes of being made.') : null,
    h('div', { class: 'stack' }, options.invalid ? null : retry, signIn),
  )
}

/** A first guess at a name for this device, which the operator can change. */
export function guessDeviceName(): string {
  const agent = navigator.userAgent
  if (/iPhone/.test(agent)) return 'iPhone'
  if (/iPad/.test(agent)) return 'iPad'
  if (/Android/.test(agent)) return 'Android phone'
  if (/Mac OS X/.test(agent)) return 'Mac'
  if (/Windows/.test(agent)) return 'Windows PC'
  if (/Linux/.test(agent)) return 'Linux PC'
  return 'My device'
}
