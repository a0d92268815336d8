/**
 * The page's flow from screen to screen: an invite link enrols, no session signs in, the home
 * screen leads to an action's confirm screen, the passkey signs, the status follows. Screens
 * only draw and report what was tapped; this class talks to the edge and decides what is next.
 */
import { startAuthentication, startRegistration } from '@simplewebauthn/browser'
import type { ApprovalRequest, Me, PageEvent, QuickAction } from '../../protocol/page.ts'
import * as api from './api.ts'
import { PageProblem } from './api.ts'
import { show } from './dom.ts'
import { API_CACHE } from './offline.ts'
import { failureText, type SignedRequest, signAndFire } from './passkey.ts'
import { askScreen, type ConfirmMode, confirmScreen, pendingScreen } from './screens/confirm.ts'
import { homeScreen, operatorName } from './screens/home.ts'
import { enrolScreen, guessDeviceName, inviteProblemScreen, signInScreen } from './screens/sign-in.ts'
import { statusScreen } from './screens/status.ts'

const POLL_INTERVAL_MS = 1000
/** Long enough for any cluster's maxEventAge to settle the event as expired. */
const POLL_LIMIT_MS = 30 * 60_000

/** What the confirm screen is about to sign, and how it was asked for. */
interface Pending {
  title: string
  intro?: string
  request: SignedRequest
  danger: boolean
  mode: ConfirmMode
  approvers?: string[]
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export class App {
  /** Counts screens shown: a status loop of an earlier screen stops when it changes. */
  #screen = 0
  #onHome = false

  start(): void {
    window.addEventListener('hashchange', () => this.#route())
    window.addEventListener('online', () => this.#onHome && this.home())
    window.addEventListener('offline', () => this.#onHome && this.home())
    this.#route()
  }

  #route(): void {
    const invite = new URLSearchParams(location.hash.slice(1)).get('invite')
    if (invite) {
      // The token is a one-time secret: out of the address bar and the history at once.
      history.replaceState(null, '', location.pathname + location.search)
      this.enrol(invite)
    } else this.home()
  }

  #show(screen: HTMLElement, onHome = false): number {
    this.#onHome = onHome
    show(screen)
    return ++this.#screen
  }

  async enrol(invite: string, error?: string): Promise<void> {
    let options: Awaited<ReturnType<typeof api.enrolOptions>>
    try {
      options = await api.enrolOptions(invite)
    } catch (failure) {
      this.#show(
        inviteProblemScreen({
          invalid: failure instanceof PageProblem && failure.slug === 'invite-invalid',
          detail: failureText(failure),
          onRetry: () => this.enrol(invite),
          onSignIn: () => this.signIn(),
        }),
      )
      return
    }
    this.#show(
      enrolScreen({
        operator: options.operator,
        deviceName: guessDeviceName(),
        error,
        onCreate: async (deviceName) => {
          try {
            const response = await startRegistration({ optionsJSON: options.options })
            await api.enrol(invite, deviceName, response)
          } catch (failure) {
            // The creation options hold a challenge of their own: start again with fresh ones.
            return this.enrol(invite, failureText(failure))
          }
          return this.home('This device is enrolled.')
        },
      }),
    )
  }

  signIn(notice?: string, error?: string): void {
    this.#show(
      signInScreen({
        notice,
        error,
        onSignIn: async () => {
          try {
            const { options } = await api.sessionOptions()
            await api.openSession(await startAuthentication({ optionsJSON: options }))
          } catch (failure) {
            return this.signIn(undefined, failureText(failure))
          }
          return this.home()
        },
      }),
    )
  }

  async home(notice?: string): Promise<void> {
    let read: api.Read<Me>
    try {
      read = await api.me()
    } catch (failure) {
      if (failure instanceof PageProblem && failure.slug === 'session-required') return this.signIn()
      return this.signIn(undefined, failureText(failure))
    }
    const me = read.data
    const offline = read.cachedAt !== undefined || !navigator.onLine ? { since: read.cachedAt } : undefined
    const home = homeScreen({
      me,
      offline,
      notice,
      onAction: (action) => this.action(action),
      onApproval: (approval) => this.approve(approval),
      onCustom: (event) => this.confirm({ title: 'Custom event', request: { event }, danger: false, mode: 'tap' }),
      onRefresh: () => this.home(),
      onSignOut: () => this.signOut(),
    })
    this.#show(home.element, true)
    await Promise.all(
      me.clusters.map(async (cluster) => {
        try {
          home.fillRecent(cluster, (await api.recentEvents(cluster)).data)
        } catch (failure) {
          home.fillRecent(cluster, failureText(failure))
        }
      }),
    )
  }

  action(action: QuickAction, typed?: string): void {
    const { payload } = action
    if (payload.kind === 'ask' && typed === undefined) {
      this.#show(
        askScreen({
          action: { ...action, payload },
          onContinue: (value) => this.action(action, value),
          onCancel: () => this.home(),
        }),
      )
      return
    }
    const event: PageEvent = {
      cluster: action.cluster,
      name: action.name,
      payload: payload.kind === 'fixed' ? payload.value : (typed ?? ''),
      coalesce: action.coalesce,
    }
    this.confirm({
      title: action.label,
      request: { event, action: action.id },
      danger: action.danger,
      mode: action.confirm,
      approvers: action.approvers,
    })
  }

  approve(approval: ApprovalRequest): void {
    this.confirm({
      title: `Approve: ${approval.label}`,
      intro: `${operatorName(approval.requester)} asks to send this.`,
      request: { event: approval.event, approval: approval.id },
      danger: approval.danger,
      mode: 'approve',
    })
  }

  confirm(pending: Pending, error?: string): void {
    const screen = confirmScreen({
      ...pending,
      event: pending.request.event,
      error,
      onCancel: () => this.home(),
      onConfirm: async () => {
        let answer: Awaited<ReturnType<typeof signAndFire>>
        try {
          answer = await signAndFire(pending.request)
        } catch (failure) {
          if (failure instanceof PageProblem && failure.slug === 'session-required') {
            return this.signIn('Your session ended: sign in again. Nothing was sent.')
          }
          return this.confirm(pending, failureText(failure))
        }
        if ('pending' in answer) {
          const done = () => this.home()
          this.#show(
            pendingScreen({ title: pending.title, event: pending.request.event, ...answer.pending, onDone: done }),
          )
          return
        }
        return this.follow(pending, answer.event.id)
      },
    })
    this.#show(screen.element)
  }

  /** Polls the event's status about once a second until it is no longer queued. */
  async follow(pending: Pending, id: string): Promise<void> {
    const { event } = pending.request
    const screen = statusScreen({ title: pending.title, event, onDone: () => this.home() })
    const shown = this.#show(screen.element)
    const fillRecent = () =>
      api.recentEvents(event.cluster).then(
        (read) => screen.fillRecent(read.data),
        (failure) => screen.fillRecent(failureText(failure)),
      )
    fillRecent()
    const until = Date.now() + POLL_LIMIT_MS
    while (shown === this.#screen && Date.now() < until) {
      try {
        const status = await api.eventStatus(event.cluster, id)
        if (shown !== this.#screen) return
        screen.update(status)
        if (status.status !== 'queued') break
      } catch (failure) {
        if (failure instanceof PageProblem && failure.slug === 'session-required') {
          return this.signIn('Your session ended: sign in again to see the status.')
        }
        screen.trouble(failureText(failure))
      }
      await sleep(POLL_INTERVAL_MS)
    }
    if (shown === this.#screen) await fillRecent()
  }

  async signOut(): Promise<void> {
    try {
      await api.closeSession()
    } catch (failure) {
      if (!(failure instanceof PageProblem && failure.slug === 'session-required')) {
        return this.signIn(undefined, failureText(failure))
      }
    }
    // What the service worker kept of this operator's reads goes with the session.
    await globalThis.caches?.delete(API_CACHE).catch(() => false)
    this.signIn('Signed out.')
  }
}
