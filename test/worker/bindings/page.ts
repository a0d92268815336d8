/**
 * The on-call page's bindings for the worker tests: operators with quick actions of every kind,
 * on clusters of their own so that counting a cluster's events counts only the page's.
 */

/** Alice's quick actions; the tests fire them by these ids. */
export const pageActions = {
  /** A tap fires `restart web`. */
  restart: { id: 'restart-web', cluster: 'page-ops', name: 'restart', payload: 'web' },
  /** A press-and-hold fires `deploy <version>`, the version typed and checked, not coalesced. */
  deploy: { id: 'deploy', cluster: 'page-ops', name: 'deploy', pattern: 'v[0-9]+\\.[0-9]+\\.[0-9]+' },
  /** A rollback waits for Bob's approval. */
  rollback: { id: 'rollback', cluster: 'page-ops', name: 'rollback', payload: 'web' },
} as const

/** The clusters the page tests fire into; each test file has its own storage, so they share them. */
export const pageClusters = {
  'page-ops': { maxEventAge: '15m', retention: '1d' },
  // Serf's default 512-byte limit, for the custom form's oversized payload.
  'page-custom': { maxEventAge: '15m', retention: '1d', userEventSizeLimit: 512 },
}

export const pageBindings: Record<string, unknown> = {
  OPERATORS: {
    alice: {
      clusters: ['page-ops'],
      events: ['restart', 'deploy', 'rollback'],
      actions: [
        {
          id: pageActions.restart.id,
          label: 'Restart web',
          cluster: 'page-ops',
          name: 'restart',
          payload: 'web',
          confirm: 'tap',
        },
        {
          id: pageActions.deploy.id,
          label: 'Deploy',
          cluster: 'page-ops',
          name: 'deploy',
          ask: { pattern: pageActions.deploy.pattern, label: 'version', example: 'v1.2.3' },
          coalesce: false,
          confirm: 'hold',
        },
        {
          id: pageActions.rollback.id,
          label: 'Roll back web',
          cluster: 'page-ops',
          name: 'rollback',
          payload: 'web',
          confirm: 'approval',
          approvers: ['bob'],
          danger: true,
        },
      ],
    },
    /** Approves Alice's rollback; may himself only restart. */
    bob: {
      clusters: ['page-ops'],
      events: ['restart'],
      actions: [{ id: 'restart-web', label: 'Restart web', cluster: 'page-ops', name: 'restart', payload: 'web' }],
    },
    /** The custom event form: any `note` or `custom-*` event on page-custom, no quick actions. */
    carol: { clusters: ['page-custom'], events: ['note', 'custom-*'], custom: true },
  },
}
