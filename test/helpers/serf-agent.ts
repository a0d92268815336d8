/**
 * Real `serf agent` processes for tests, each recording every user event its handler runs for:
 * the harness's (scripts/harness/serf.ts) under the names tests use.
 */
export { freePort } from '../../scripts/harness/net.ts'
export { payloadText, type RecordedUserEvent } from '../../scripts/harness/recorder.ts'
export {
  SerfAgent,
  type SerfCluster,
  type SerfClusterOptions,
  startSerfCluster,
  stopAllAgents as stopAll,
} from '../../scripts/harness/serf.ts'
export { waitFor } from '../../scripts/harness/wait.ts'
