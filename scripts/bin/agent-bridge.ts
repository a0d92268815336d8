#!/usr/bin/env node
/**
 * The installed `agent-bridge` bin, dist/agent-bridge.js: the Node version check, then the
 * bridge. The bridge is a chunk of its own loaded with import(), so an old Node reads the check's
 * message rather than a failure to load something the bridge imports. Imported, not run as the
 * main module, the bridge is started here, as agent-bridge/cli.ts starts itself when run directly.
 */
import '../require-node.mjs'

const { main } = await import('../../agent-bridge/cli.ts')
process.exitCode = await main(process.argv.slice(2), process.env)
