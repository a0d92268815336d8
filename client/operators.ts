/**
 * The sender SDK for the on-call page's operators: invite an operator's device, list the enrolled
 * devices, revoke one. Signed admin requests like every other sender call; the sender needs the
 * `operators` permission for the operator concerned.
 */
import { z } from 'zod'
import { type Device, deviceSchema, type Invite, inviteSchema } from '../protocol/page.ts'
import { sendSigned } from './edge-request.ts'
import { ClientConfigError } from './errors.ts'
import { connect, edgeApiUrl, type SenderOptions } from './sdk.ts'

export { type Device, deviceSchema, type Invite, inviteSchema }

// Fields a newer edge adds to its answers reach the SDK's caller instead of being dropped.
const looseDevice = deviceSchema.loose()
const inviteAnswer = inviteSchema.loose()
const devicesAnswer = z.object({ devices: z.array(looseDevice) }).loose()
const revokeAnswer = z.object({ device: looseDevice }).loose()

/** Options of {@link createInvite}. */
export interface CreateInviteOptions extends SenderOptions {
  /** The operator whose device the link enrols, as configured in the edge's OPERATORS. */
  operator: string
}

/** Options of {@link listDevices}. */
export interface ListDevicesOptions extends SenderOptions {
  /** Only this operator's devices (default: those of every operator the sender may manage). */
  operator?: string
}

/** Options of {@link revokeDevice}. */
export interface RevokeDeviceOptions extends SenderOptions {
  /** The device id (`dev_…`) as {@link listDevices} lists it. */
  id: string
}

/**
 * Create a one-time invite: a link that, opened on the operator's phone within 15 minutes,
 * creates a passkey registered for that operator. Whoever opens it first enrols; it then dies.
 * @example
 * const invite = await createInvite({ edgeUrl, sender: 'admin', key, operator: 'alice' })
 * console.log(invite.url, 'valid until', invite.expiresAt)
 * @throws {EdgeProblemError} `unknown-operator` (404), `forbidden` (403) without the sender's
 *   `operators` permission for this operator
 * @throws {EdgeUnreachableError}
 */
export async function createInvite(options: CreateInviteOptions): Promise<Invite> {
  const url = edgeApiUrl(options.edgeUrl, `operators/${pathSegment(options.operator, 'an operator')}/invites`)
  // No requestId: a retried POST makes at most one more invite, which simply expires unused.
  return sendSigned(await connect(options), { method: 'POST', url, body: '{}' }, inviteAnswer)
}

/**
 * List enrolled devices, revoked ones included (with `revokedAt`).
 * @example
 * for (const device of await listDevices({ ...admin, operator: 'alice' })) {
 *   console.log(device.id, device.name, device.lastUsedAt ?? 'never used')
 * }
 * @throws {EdgeProblemError} `unknown-operator` (404), `forbidden` (403)
 * @throws {EdgeUnreachableError}
 */
export async function listDevices(options: ListDevicesOptions): Promise<Device[]> {
  if (options.operator === '') throw new ClientConfigError('the operator filter must not be empty')
  const query = options.operator === undefined ? '' : `?${new URLSearchParams({ operator: options.operator })}`
  const url = edgeApiUrl(options.edgeUrl, `operators/devices${query}`)
  const answer = await sendSigned(await connect(options), { method: 'GET', url }, devicesAnswer)
  return answer.devices
}

/**
 * Revoke a device, effective at once: its sessions end and the edge refuses anything it signs.
 * Revoking a revoked device changes nothing and answers it as it is.
 * @example
 * const device = await revokeDevice({ ...admin, id: 'dev_3f2a…' })
 * console.log(`${device.name} of ${device.operator} revoked at ${device.revokedAt}`)
 * @throws {EdgeProblemError} `unknown-device` (404), `forbidden` (403)
 * @throws {EdgeUnreachableError}
 */
export async function revokeDevice(options: RevokeDeviceOptions): Promise<Device> {
  const url = edgeApiUrl(options.edgeUrl, `operators/devices/${pathSegment(options.id, 'a device id')}/revoke`)
  const answer = await sendSigned(await connect(options), { method: 'POST', url, body: '{}' }, revokeAnswer)
  return answer.device
}

function pathSegment(value: string, what: string): string {
  if (!value) throw new ClientConfigError(`${what} is required`)
  return encodeURIComponent(value)
}
