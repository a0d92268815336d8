#!/usr/bin/env node
/**
 * The installed `serf-edge` bin, dist/serf-edge.js: the Node version check, then the CLI. The CLI
 * is a chunk of its own loaded with import(), so an old Node reads the check's message rather
 * than a failure to load something the CLI imports. Imported, not run as the main module, the
 * CLI is started here, as client/cli.ts starts itself when run directly.
 */
import '../require-node.mjs'

const { runFromProcess } = await import('../../client/cli.ts')
await runFromProcess()
