/** `serf-edge audit`: how -since is read and how a record is printed. */
import { describe, expect, it } from 'vitest'
import { auditLine, parseSince } from '../../client/cli-audit.ts'
import { UsageError } from '../../protocol/flags.ts'

const now = Date.parse('2026-11-24T12:00:00Z')

describe('-since', () => {
  it('takes a duration back from now, or an RFC 3339 time', () => {
    expect(parseSince('90m', now).toISOString()).toBe('2026-11-24T10:30:00.000Z')
    expect(parseSince('2d', now).toISOString()).toBe('2026-11-22T12:00:00.000Z')
    expect(parseSince('2026-11-24T09:15:00+01:00', now).toISOString()).toBe('2026-11-24T08:15:00.000Z')
  })

  it('refuses anything else as a usage error', () => {
    for (const text of ['yesterday', '60', '2026-13-45T99:00:00Z']) {
      expect(() => parseSince(text, now), text).toThrow(UsageError)
    }
  })
})

describe('one line per attempt', () => {
  it('shows the event and its status for a queued attempt', () => {
    const line = auditLine({
      seq: 3,
      at: '2026-11-24T11:59:00.000Z',
      door: 'api',
      principal: 'ci',
      cluster: 'prod',
      name: 'deploy',
      decision: 'queued',
      eventId: 'evt_1',
      status: 'rejected',
      error: 'user event exceeds limit',
    })
    expect(line).toBe(
      '2026-11-24T11:59:00.000Z  api  ci  "deploy"  queued  evt_1 rejected (user event exceeds limit)\n',
    )
  })

  it('shows the reason for a refusal, and the channel of a chat principal', () => {
    const line = auditLine({
      seq: 4,
      at: '2026-11-24T11:59:01.000Z',
      door: 'slack',
      principal: 'slack:T1:U2',
      channel: 'C3',
      cluster: 'prod',
      name: 'reboot\u0007',
      decision: 'refused',
      reason: 'forbidden: not allowed',
    })
    expect(line).toBe(
      '2026-11-24T11:59:01.000Z  slack  slack:T1:U2 in C3  "reboot\\u0007"  refused  forbidden: not allowed\n',
    )
  })
})
