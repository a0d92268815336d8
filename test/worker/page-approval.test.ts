/**
 * Quick actions with `confirm = "approval"`: the requester's signed request waits; one of the
 * action's approvers, never the requester, signs the same event and only then is it queued, once.
 */
import { describe, expect, it } from 'vitest'
import { pageActions } from './bindings/page.ts'
import { problem } from './helpers.ts'
import {
  auditAfter,
  auditMark,
  challenge,
  countQueued,
  enrolPhone,
  expectJson,
  fireAction,
  fireSigned,
  inDirectory,
  type PageEvent,
  pageGet,
  sign,
} from './page-requests.ts'

const rollback: PageEvent = { cluster: 'page-ops', name: 'rollback', payload: 'web', coalesce: true }
const request = { event: rollback, action: pageActions.rollback.id }

type Pending = { pending: { id: string; expiresAt: string; approvers: string[] } }
type Fired = { event: { id: string; cluster: string; sequence: number; status: string } }

describe('an action that needs a second operator’s approval', () => {
  it('waits for the approver, who signs it once; the requester cannot approve it', async () => {
    const alice = await enrolPhone('alice')
    const bob = await enrolPhone('bob')
    const carol = await enrolPhone('carol')
    const mark = await auditMark('page-ops')

    const { res } = await fireAction(alice, request)
    const { pending } = await expectJson<Pending>(res, 202)
    expect(pending.approvers).toEqual(['bob'])
    expect(Date.parse(pending.expiresAt)).toBeGreaterThan(Date.now())
    expect(await countQueued('page-ops', 'rollback')).toBe(0)

    const me = await expectJson<{ approvals: Record<string, unknown>[] }>(
      await pageGet('/app/api/me', { cookie: bob.cookie }),
      200,
    )
    expect(me.approvals).toEqual([
      expect.objectContaining({ id: pending.id, action: pageActions.rollback.id, event: rollback, danger: true }),
    ])
    expect(String(me.approvals[0]!.requester)).toMatch(/^(page:)?alice$/)
    const hers = await expectJson<{ approvals: unknown[] }>(await pageGet('/app/api/me', { cookie: alice.cookie }), 200)
    expect(hers.approvals).toEqual([])

    // Neither the requester nor an operator outside the approvers gets a challenge for it.
    for (const phone of [alice, carol]) {
      const own = await challenge(phone, { event: rollback, approval: pending.id })
      expect(own.status, phone.operator).toBe(404)
      expect((await problem(own)).type).toBe('urn:serf-edge:problem:unknown-approval')
    }
    // Nor an approval for another event than the one waiting.
    const other = await challenge(bob, { event: { ...rollback, payload: 'db' }, approval: pending.id })
    expect(other.status).toBe(422)
    expect((await problem(other)).type).toBe('urn:serf-edge:problem:invalid-event')
    expect(await countQueued('page-ops', 'rollback')).toBe(0)

    // A second approval signed while the request still waited (another tab, a double tap).
    const first = await sign(bob, { event: rollback, approval: pending.id })
    const early = await sign(bob, { event: rollback, approval: pending.id })
    const approved = await fireSigned(bob, first.body)
    const { event } = await expectJson<Fired>(approved, 202)
    expect(event).toMatchObject({ cluster: 'page-ops', status: 'queued' })
    expect(await countQueued('page-ops', 'rollback')).toBe(1)

    const again = await fireSigned(bob, early.body)
    expect(again.status).toBe(403)
    expect((await problem(again)).detail).toMatch(/already approved/)
    // And once it is decided, no challenge is issued for it: no fingerprint that cannot count.
    const late = await challenge(bob, { event: rollback, approval: pending.id })
    expect(late.status).toBe(403)
    expect((await problem(late)).detail).toMatch(/already approved or has expired/)
    expect(await countQueued('page-ops', 'rollback')).toBe(1)

    const records = await auditAfter('page-ops', mark)
    expect(records.filter((r) => r.name === 'rollback').map((r) => r.decision)).toEqual(
      expect.arrayContaining(['pending', 'queued']),
    )
    const pendingRecord = records.find((r) => r.decision === 'pending')!
    expect(pendingRecord).toMatchObject({
      door: 'page',
      principal: 'page:alice',
      channel: `passkey:${alice.authenticator.id}`,
    })
    const queued = records.find((r) => r.decision === 'queued')!
    expect(queued).toMatchObject({ door: 'page', eventId: event.id })
    expect(queued.channel).toContain(`passkey:${bob.authenticator.id}`)
  })

  it('the approver’s assertion must verify like any other', async () => {
    const alice = await enrolPhone('alice')
    const bob = await enrolPhone('bob')
    const before = await countQueued('page-ops', 'rollback')
    const { pending } = await expectJson<Pending>((await fireAction(alice, request)).res, 202)
    const unverified = await fireAction(bob, { event: rollback, approval: pending.id }, { userVerified: false })
    expect(unverified.res.status).toBe(401)
    expect((await problem(unverified.res)).type).toBe('urn:serf-edge:problem:passkey-rejected')
    expect(await countQueued('page-ops', 'rollback')).toBe(before)
    // The refusal spent only that nonce: the request still waits for a good signature.
    const approved = await fireAction(bob, { event: rollback, approval: pending.id })
    expect(approved.res.status).toBe(202)
    expect(await countQueued('page-ops', 'rollback')).toBe(before + 1)
  })

  it('an approval request over its time is gone from the approver’s list and approves nothing', async () => {
    const alice = await enrolPhone('alice')
    const bob = await enrolPhone('bob')
    const before = await countQueued('page-ops', 'rollback')
    const { pending } = await expectJson<Pending>((await fireAction(alice, request)).res, 202)
    await inDirectory((sql) => sql.exec('UPDATE approvals SET expires_at = ? WHERE id = ?', Date.now() - 1, pending.id))
    const me = await expectJson<{ approvals: { id: string }[] }>(
      await pageGet('/app/api/me', { cookie: bob.cookie }),
      200,
    )
    expect(me.approvals.map((a) => a.id)).not.toContain(pending.id)
    // Refused when asked for a challenge, or at the latest when the signed approval arrives.
    const asked = await challenge(bob, { event: rollback, approval: pending.id })
    if (asked.status === 200) {
      const late = await fireAction(bob, { event: rollback, approval: pending.id })
      expect(late.res.status).toBe(403)
      expect((await problem(late.res)).detail).toMatch(/expired/)
    } else {
      expect(asked.status).toBeGreaterThanOrEqual(400)
      expect(asked.status).toBeLessThan(500)
    }
    expect(await countQueued('page-ops', 'rollback')).toBe(before)
  })
})
