// Wake latency of a waiting long-poll, in workerd: `npx vitest run --config bench/wake-latency.config.mts`.
import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'
import worker from '../vitest.worker.config.mts'

export default defineConfig({
  ...worker,
  root: resolve(import.meta.dirname, '..'),
  test: {
    ...worker.test,
    name: 'wake-latency',
    silent: false,
    // The figures only, not the Worker's log line per event.
    onConsoleLog: (log) => !log.startsWith('{"level"'),
    include: ['test/worker/wake-latency.bench.ts'],
    testTimeout: 300_000,
  },
})
