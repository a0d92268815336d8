/**
 * The on-call page as `npm start` sets it up: a development operator `dev` with three quick
 * actions on cluster dev (a tap, a press-and-hold with a typed service name, and one that waits
 * for a second operator, `dev-approver`), and a fresh invite for `dev` once the edge answers, so
 * a newcomer can enrol a desktop browser and fire an event into the development agent.
 *
 * The page lives at http://localhost:PORT, never 127.0.0.1: WebAuthn refuses IP-address hosts,
 * and localhost counts as a secure origin without TLS.
 */
import { createInvite, type Invite } from '../../client/operators.ts'
import { DEV_CLUSTER, DEV_SENDER } from './config.ts'

/** The operator whose invite `npm start` prints, and the one who approves its approval action. */
export const DEV_OPERATOR = 'dev'
export const DEV_APPROVER = 'dev-approver'

/** `OPERATORS` for `.dev.vars`, as JSON. */
export const DEV_OPERATORS = JSON.stringify({
  [DEV_OPERATOR]: {
    clusters: [DEV_CLUSTER],
    events: ['*'],
    custom: true,
    actions: [
      {
        id: 'say-hello',
        label: 'Say hello',
        cluster: DEV_CLUSTER,
        name: 'hello',
        payload: 'from the on-call page',
        confirm: 'tap',
      },
      {
        id: 'restart-service',
        label: 'Restart a service',
        cluster: DEV_CLUSTER,
        name: 'restart',
        ask: { pattern: '^[a-z0-9-]{1,32}$', label: 'service', example: 'web' },
        confirm: 'hold',
        danger: true,
      },
      {
        id: 'deploy-main',
        label: 'Deploy main',
        cluster: DEV_CLUSTER,
        name: 'deploy',
        payload: 'main',
        confirm: 'approval',
        approvers: [DEV_APPROVER],
      },
    ],
  },
  [DEV_APPROVER]: { clusters: [DEV_CLUSTER], events: ['deploy'], custom: false },
})

/** The page's origin for a local edge on `port`; `PAGE_ORIGIN` of the edge, so invites point there. */
export const devPageOrigin = (port: number): string => `http://localhost:${port}`

/** The page as `npm start` reports it: where it is, and the invite, or why there is none. */
export interface DevPage {
  url: string
  invite: Invite | undefined
  /** Why no invite could be made (the edge refused, or did not answer). */
  error: string | undefined
}

/**
 * An invite for the development operator, made through the SDK as `serf-edge invite` makes it.
 * Never throws: without an invite the rest of `npm start` still works.
 */
export async function devPage(edgeUrl: string, port: number, senderKey: string): Promise<DevPage> {
  const url = `${devPageOrigin(port)}/app/`
  try {
    const invite = await createInvite({
      edgeUrl,
      sender: DEV_SENDER,
      key: senderKey,
      operator: DEV_OPERATOR,
      retry: { attempts: 2 },
      requestTimeoutMs: 10_000,
    })
    return { url, invite, error: undefined }
  } catch (error) {
    return { url, invite: undefined, error: (error as Error).message }
  }
}
