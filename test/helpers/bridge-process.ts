/**
 * `agent-bridge` as the real process operators run, keeping its JSON log lines for assertions:
 * the harness's (scripts/harness/bridge.ts) under the names tests use.
 */
export {
  type BridgeLogLine,
  BridgeProcess,
  type BridgeProcessOptions,
  startBridge,
  stopAllBridges,
} from '../../scripts/harness/bridge.ts'
