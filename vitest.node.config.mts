import { defineConfig } from 'vitest/config'

// Node-side tests: bridge, client and end-to-end, against real `serf agent` processes.
export default defineConfig({
  test: {
    include: [
      'test/bridge/**/*.test.ts',
      'test/e2e/**/*.test.ts',
      'test/client/**/*.test.ts',
      'test/protocol/**/*.test.ts',
      'test/bench/**/*.test.ts',
      'test/browser/**/*.test.ts',
      'test/selfhost/**/*.test.ts',
    ],
    pool: 'forks',
    // Two cores: real serf agents and workerd are heavy, run one test file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
})
