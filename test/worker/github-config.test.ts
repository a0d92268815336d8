/** GITHUB_HOOKS is checked when the configuration loads: each mistake is a ConfigError naming it. */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.ts'

const deploy = { event: 'push', ref: 'refs/heads/main', cluster: 'prod', name: 'deploy', payload: '{{after}}' }

const good = (hook: Record<string, unknown> = {}, clusters: Record<string, unknown> = {}) => ({
  CLUSTERS: { prod: { retention: '3d' }, ...clusters },
  SENDERS: {},
  BRIDGE_KEYS_PROD: env.BRIDGE_KEYS_STAGING,
  BRIDGE_KEYS_SHORT: env.BRIDGE_KEYS_STAGING,
  GITHUB_HOOKS: { app: { repositories: ['octo/*'], rules: [deploy], ...hook } },
  GITHUB_WEBHOOK_SECRET_APP: "It's a Secret to Everybody",
})

describe('GitHub hooks in the configuration', () => {
  it('parse into hooks whose scope is exactly their rules’ clusters and event names', async () => {
    const config = await parseConfig(good({ rules: [deploy, { ...deploy, name: 'deploy.*' }] }))
    const hook = config.githubHooks.get('app')!
    expect(hook.rules.map((rule) => [rule.index, rule.cluster.id, rule.name, rule.coalesce])).toEqual([
      [0, 'prod', 'deploy', true],
      [1, 'prod', 'deploy.*', true],
    ])
    expect(hook.scope.clusters).toEqual(['prod'])
    expect(
      ['deploy', 'deploy.*', 'deploy.x', 'deployed'].filter((n) => hook.scope.events.some((e) => e.test(n))),
    ).toEqual(['deploy', 'deploy.*'])
  })

  it('close the door when GITHUB_HOOKS is not set', async () => {
    const { GITHUB_HOOKS: _, ...without } = good()
    expect((await parseConfig(without)).githubHooks.size).toBe(0)
  })

  it.each([
    {
      what: 'a template whose literal text does not fit the cluster’s Serf limit',
      change: good({ rules: [{ ...deploy, payload: `{{after}} ${'x'.repeat(450)}` }] }),
      message:
        'GITHUB_HOOKS.app.rules.0.payload: event "deploy" with payload "{{after}} xxx' +
        `${'x'.repeat(447)}" is at least 497 bytes of name plus payload (its literal text and 40 bytes per commit SHA); ` +
        'cluster "prod" has a Serf user_event_size_limit of 512 bytes, which leaves room for at most 474: ' +
        'shorten the template or raise CLUSTERS.prod.userEventSizeLimit',
    },
    {
      what: 'a template with no room left for a field of unknown length',
      change: good(
        { rules: [{ ...deploy, payload: `${'x'.repeat(100)}{{release.tag_name}}` }] },
        {
          prod: { retention: '3d', userEventSizeLimit: 128 },
        },
      ),
      message:
        /at least 106 bytes of name plus payload \(its literal text, before \{\{release.tag_name\}\} is filled in\); .*limit of 128 bytes, which leaves room for at most 90:/,
    },
    {
      what: 'a rule naming an unknown cluster',
      change: good({ rules: [{ ...deploy, cluster: 'staging' }] }),
      message: 'GITHUB_HOOKS.app.rules.0.cluster names unknown cluster "staging"',
    },
    {
      what: 'a rule firing into a cluster that keeps events under 3 days',
      change: good({ rules: [{ ...deploy, cluster: 'short' }] }, { short: { retention: '1d' } }),
      message:
        'GITHUB_HOOKS.app.rules.0.cluster: cluster "short" keeps events for less than 3d (CLUSTERS.short.retention); ' +
        'GitHub may redeliver a delivery for 3 days, and a redelivery is recognised only while its event is kept: ' +
        'set the retention to at least 3d',
    },
    {
      what: 'an event name Serf events may not have',
      change: good({ rules: [{ ...deploy, name: 'de\u0007ploy' }] }),
      message: 'GITHUB_HOOKS.app.rules.0.name: name must not contain control characters',
    },
    {
      what: 'a malformed placeholder',
      change: good({ rules: [{ ...deploy, payload: '{{ after }} {{head commit}}' }] }),
      message: /GITHUB_HOOKS.app.rules.0.payload: template .*"\{\{head commit\}\}" is not a field path/,
    },
    {
      what: 'a conclusion on an event that has none',
      change: good({ rules: [{ ...deploy, conclusion: 'success' }] }),
      message: /rules.0.conclusion: only workflow_run, workflow_job, check_run, check_suite deliveries/,
    },
    {
      what: 'an event that is no GitHub event name',
      change: good({ rules: [{ ...deploy, event: 'Push' }] }),
      message: 'GITHUB_HOOKS.app.rules.0.event: event must be a GitHub event name such as push or release',
    },
    {
      what: 'an unknown rule field',
      change: good({ rules: [{ ...deploy, branch: 'main' }] }),
      message: /GITHUB_HOOKS.app.rules.0: .*branch/,
    },
    {
      what: 'a hook without rules',
      change: good({ rules: [] }),
      message: /GITHUB_HOOKS.app.rules: /,
    },
    {
      what: 'a missing secret',
      change: { ...good(), GITHUB_WEBHOOK_SECRET_APP: undefined },
      message:
        'secret GITHUB_WEBHOOK_SECRET_APP is not set (wrangler secret put GITHUB_WEBHOOK_SECRET_APP; locally .dev.vars)',
    },
    {
      what: 'a hook id that cannot be a path segment',
      change: { ...good(), GITHUB_HOOKS: { 'My Hook': { rules: [deploy] } } },
      message: /GITHUB_HOOKS: "My Hook" is not a valid hook id/,
    },
  ])('refuse $what', async ({ change, message }) => {
    const parsing = parseConfig(change)
    await expect(parsing).rejects.toThrow(ConfigError)
    await expect(parsing).rejects.toThrow(message)
  })

  it('accept a template that fits with its SHAs counted at 40 characters', async () => {
    const payload = `{{after}} ${'x'.repeat(100)}`
    await expect(parseConfig(good({ rules: [{ ...deploy, payload }] }))).resolves.toBeDefined()
  })
})
