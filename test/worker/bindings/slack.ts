/** The Slack door's bindings for the worker tests: its app `ops` and a signing secret made for this run. */

/** Slack ids of the test's workspaces, people and channels. */
export const slackIds = {
  team: 'T0TEAM0001',
  otherTeam: 'T0OTHER001',
  /** Deploys on staging (a `danger-*` event needs her confirmation), hotfixes on prod (announced). */
  alice: 'U0ALICE001',
  /** A lead: in the approver group, granted nothing to fire. */
  bob: 'U0BOB00001',
  /** May ask for a rollback on staging, which needs a lead's approval; a lead herself. */
  carol: 'U0CAROL001',
  /** May fire `ping`, only in the ops channel. */
  dave: 'U0DAVE0001',
  /** May ask queries (`uptime`, `whoami`, `echo`) on staging, prod and query-limits; may fire nothing. */
  erin: 'U0ERIN0001',
  /** Granted nothing. */
  mallory: 'U0MALLORY1',
  stagingChannel: 'C0STAGING1',
  /** Commands here go to prod unless they say otherwise. */
  prodChannel: 'C0PROD0001',
  opsChannel: 'C0OPS00001',
}

const ids = slackIds
// Like a Slack app's Signing Secret: 32 hex digits, made with WebCrypto for this run only.
const secret = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')

export const slackBindings: Record<string, unknown> = {
  SLACK_APPS: {
    ops: {
      teams: [ids.team],
      defaultCluster: 'staging',
      channelClusters: { [ids.prodChannel]: 'prod' },
      grants: [
        { users: [ids.alice], clusters: ['staging'], events: ['deploy', 'danger-*'], confirm: ['danger-*'] },
        { users: [ids.alice], clusters: ['prod'], events: ['hotfix'], announce: ['hotfix'] },
        {
          users: [ids.carol],
          clusters: ['staging'],
          events: ['rollback'],
          approval: { events: ['rollback'], group: 'leads' },
        },
        { users: [ids.dave], channels: [ids.opsChannel], clusters: '*', events: ['ping'] },
        { users: [ids.erin], clusters: ['staging', 'prod', 'query-limits'], queries: ['uptime', 'whoami', 'echo'] },
      ],
      groups: { leads: [ids.bob, ids.carol] },
    },
  },
  SLACK_SIGNING_SECRET_OPS: secret,
  TEST_SLACK: { ids, secret },
}
