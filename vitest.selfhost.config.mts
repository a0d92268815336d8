import { defineConfig } from 'vitest/config'
import node from './vitest.node.config.mts'

// The end-to-end and browser suites again, against the self-hosted edge (`npm run build:selfhost`
// output on workerd, queues on local disk) instead of `wrangler dev`: every file whose edge comes
// from startEdge() or pipeline() picks it up from SERF_EDGE_TEST_EDGE.
export default defineConfig({
  test: {
    ...node.test,
    include: [
      'test/e2e/bridge-*.test.ts',
      'test/e2e/queries.test.ts',
      'test/e2e/chat-queries.test.ts',
      'test/e2e/slack.test.ts',
      'test/e2e/discord.test.ts',
      'test/e2e/github-push.test.ts',
      'test/e2e/operators-cli.test.ts',
      'test/e2e/signing-recipes.test.ts',
      'test/browser/**/*.test.ts',
    ],
    env: { SERF_EDGE_TEST_EDGE: 'selfhosted' },
  },
})
