/**
 * serf-edge sender SDK: fire HashiCorp Serf user events and ask Serf queries through the edge,
 * from a bot or CI job; invite and revoke the on-call page's operator devices.
 * @example
 * import { fireEvent, waitForEvent } from 'serf-edge/client'
 * const edge = { edgeUrl, cluster: 'prod', sender: 'chatops', key: process.env.SERF_EDGE_KEY! }
 * const { id } = await fireEvent({ ...edge, name: 'deploy', payload: 'v1.4.2' })
 * const final = await waitForEvent({ ...edge, id })
 */

export type { AuditDecision, AuditPage, AuditRecord } from '../protocol/audit.ts'
export { newRequestId } from '../protocol/edge-request.ts'
export type {
  Member,
  MembersSnapshot,
  QueryAccepted,
  QueryState,
  QueryStatus,
} from '../protocol/query.ts'
export {
  type GeneratedKey,
  generateEd25519Key,
  generateHmacKey,
  KeyFormatError,
} from '../protocol/signature.ts'
export type { EventAccepted, EventState, EventStatus } from '../protocol/wire.ts'
export { DEFAULT_RETRY, type RetryOptions } from './edge-request.ts'
export {
  ClientConfigError,
  EdgeProblemError,
  EdgeUnreachableError,
  EventValidationError,
  EventWaitTimeoutError,
  type Problem,
} from './errors.ts'
export {
  type CreateInviteOptions,
  createInvite,
  type Device,
  type Invite,
  type ListDevicesOptions,
  listDevices,
  type RevokeDeviceOptions,
  revokeDevice,
} from './operators.ts'
export {
  type AskQueryOptions,
  askQuery,
  getQueryStatus,
  members,
  type QueryEvent,
  type QueryOptions,
  QueryValidationError,
  query,
} from './queries.ts'
export {
  type EdgeOptions,
  type EventStatusOptions,
  type FireEventOptions,
  fireEvent,
  getEventStatus,
  type ReadAuditOptions,
  readAudit,
  type SenderOptions,
  type WaitForEventOptions,
  waitForEvent,
} from './sdk.ts'
