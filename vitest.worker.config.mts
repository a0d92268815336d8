// Worker tests: the edge in real workerd with real Durable Object storage.
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { generateEd25519Key, generateHmacKey } from './protocol/signature.ts'
import { secretName } from './protocol/wire.ts'
import { discordBindings } from './test/worker/bindings/discord.ts'
import { githubBindings, githubClusters } from './test/worker/bindings/github.ts'
import { pageBindings, pageClusters } from './test/worker/bindings/page.ts'
import { slackBindings } from './test/worker/bindings/slack.ts'

// Development keys generated for this test run only; they never leave the process.
const ci = [generateHmacKey(), generateHmacKey(), await generateEd25519Key()]
const chatops = generateHmacKey()
const bridge = generateHmacKey()

const settings = { maxEventAge: '15m', retention: '1d' }

/**
 * Storage is isolated per test file, not per test: a test whose assertions depend on a whole
 * queue or on who holds the lease gets a cluster of its own, named for that test, so it passes
 * whichever tests ran before it.
 */
const ownQueues = [
  // test/worker/bridge-api.test.ts
  'poll-order',
  'poll-wake',
  'poll-idle',
  'ack-outcomes',
  'ack-bounds',
  'lease-standby',
  'lease-lapse',
  'lease-release',
  'max-age',
  'retention',
  // test/worker/queue-order.test.ts
  'concurrent-posts',
  // test/worker/queries.test.ts
  'query-ahead',
  'query-wake',
  'query-records',
  'query-expiry',
  'query-fail',
  'query-lease',
  'query-members',
  'query-timeout-bound',
  // test/worker/long-poll-sleep.test.ts
  'sleep-evict',
  'sleep-idle',
  'sleep-restart',
  'sleep-queries',
  'sleep-race',
  'sleep-answer',
  // test/worker/wake-latency.bench.ts (bench/wake-latency.config.mts)
  'wake-bench',
]

const clusters = {
  // Serf's default user_event_size_limit; the one cluster the sender `chatops` may use.
  staging: { ...settings, userEventSizeLimit: 512 },
  // A larger limit than staging's: limits are per cluster.
  prod: { ...settings, userEventSizeLimit: 1024 },
  // The largest limit Serf accepts, for big events.
  big: { ...settings, userEventSizeLimit: 9216 },
  // A queue that holds 5 events, to see it full.
  'tiny-queue': { ...settings, maxQueuedEvents: 5 },
  // Small Serf query limits (query_size_limit, query_response_size_limit), to see them refuse.
  'query-limits': { ...settings, querySizeLimit: 300, queryResponseSizeLimit: 64 },
  ...Object.fromEntries(ownQueues.map((id) => [id, settings])),
  ...githubClusters,
  ...pageClusters,
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          CLUSTERS: clusters,
          SENDERS: {
            ci: { clusters: '*', events: ['*'], audit: '*', queries: ['*'], operators: '*' },
            chatops: { clusters: ['staging'], events: ['deploy', 'restart-*'], queries: ['uptime'] },
          },
          SENDER_KEYS_CI: ci.map((k) => k.verify).join(' '),
          SENDER_KEYS_CHATOPS: chatops.verify,
          ...Object.fromEntries(Object.keys(clusters).map((id) => [secretName('BRIDGE_KEYS', id), bridge.verify])),
          TEST_KEYS: { ci: ci.map((k) => k.secret), chatops: chatops.secret, bridge: bridge.secret },
          ...slackBindings,
          ...discordBindings,
          ...githubBindings,
          ...pageBindings,
        },
      },
    }),
  ],
  test: {
    name: 'worker',
    silent: 'passed-only',
    include: ['test/worker/**/*.test.ts'],
    testTimeout: 60_000,
  },
})
