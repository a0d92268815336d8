/** The GitHub door's bindings for the worker tests: its cluster, hook `ci` and a secret made for this run. */

/** GitHub redelivers for 3 days, so a cluster a hook fires into keeps events at least that long. */
export const githubClusters: Record<string, Record<string, unknown>> = {
  github: { maxEventAge: '15m', retention: '3d' },
}

const rule = (fields: Record<string, unknown>) => ({ cluster: 'github', ...fields })

export const githubBindings: Record<string, unknown> = {
  GITHUB_HOOKS: {
    ci: {
      repositories: ['octo/*'],
      rules: [
        // `serf event deploy <commit>`, the manual's own example, for every push to main …
        rule({ event: 'push', ref: 'refs/heads/main', name: 'deploy', payload: '{{after}}' }),
        // … and a second rule matching the same push: every matching rule fires.
        rule({
          event: 'push',
          ref: 'refs/heads/main',
          name: 'push-log',
          payload: '{{pusher.name}} pushed {{after}}',
          coalesce: false,
        }),
        rule({ event: 'release', action: 'published', name: 'release', payload: '{{release.tag_name}}' }),
        rule({
          event: 'workflow_run',
          action: 'completed',
          conclusion: 'success',
          ref: 'refs/heads/main',
          name: 'ci-passed',
          payload: '{{workflow_run.name}} {{workflow_run.head_sha}}',
        }),
        rule({ event: 'deployment', action: 'created', name: 'deploy-env', payload: '{{deployment.environment}}' }),
        // A field of unknown length: only a delivery shows whether it fits Serf's limit.
        rule({ event: 'issues', action: 'opened', name: 'issue', payload: '{{issue.title}}' }),
      ],
    },
  },
  GITHUB_WEBHOOK_SECRET_CI: `gh-${crypto.randomUUID()}`,
}
