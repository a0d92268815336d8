// Worker tests: the edge in real workerd with real Durable Object storage.
import { cloudflareTest } from '@cloudflare/vitest-plugin'
import { defineConfig } from 'vitest/config'
import { generateEd25519Key, generateHmacKey } from './protocol/signature.ts'

// Development keys generated for this test run only; they never leave the process.
const ci = [generateHmacKey(), generateHmacKey(), await generateEd25519Key()]
const chatops = generateHmacKey()
const bridge = generateHmacKey()

const clusters = {
  staging: { userEventSizeLimit: 512, maxEventAge: '15m', retention: '1d' },
  prod: { userEventSizeLimit: 1024, maxEventAge: '15m', retention: '1d' },
  big: { userEventSizeLimit: 9216, maxEventAge: '15m', retention: '1d', maxQueuedEvents: 5 },
  fleeting: { maxEventAge: '15m', retention: '10m', bridgeLeaseTtl: '2s' },
  ephemeral: { maxEventAge: '1s', retention: '10m' },
}

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          CLUSTERS: clusters,
          SENDERS: {
            ci: { clusters: '*', events: ['*'], audit: '*' },
            chatops: { clusters: ['staging'], events: ['deploy', 'restart-*'] },
          },
          SENDER_KEYS_CI: ci.map((k) => k.verify).join(' '),
          SENDER_KEYS_CHATOPS: chatops.verify,
          ...Object.fromEntries(Object.keys(clusters).map((id) => [`BRIDGE_KEYS_${id.toUpperCase()}`, bridge.verify])),
          TEST_KEYS: { ci: ci.map((k) => k.secret), chatops: chatops.secret, bridge: bridge.secret },
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
