/**
 * The edge as users run it locally, `wrangler dev` on a free loopback port with keys made for
 * the test: the harness's (scripts/harness/local-edge.ts) under the names tests use.
 */
export { type EdgeOptions, type LocalEdge, startEdge, stopAllEdges } from '../../scripts/harness/local-edge.ts'
