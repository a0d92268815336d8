/**
 * The follow-up of a Discord command edits the original response, which Discord allows for the
 * interaction token's 15 minutes; an event that settles later leaves `followup-lapsed` in the
 * audit trail instead of a request Discord would refuse. (The follow-up actually sent, to a
 * stand-in for Discord's API, is in test/e2e/discord.test.ts.)
 */
import { runDurableObjectAlarm } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { waitFor } from '../../scripts/harness/wait.ts'
import { auditMark, auditOf, command, ids, interact, principal } from './discord-interactions.ts'
import { bridge, inQueue } from './helpers.ts'

// The grant for `lapse` reaches only `big`: the ack below settles everything queued there.
const cluster = 'big'

describe('a follow-up after the interaction token lapsed', () => {
  it('is not sent; the audit trail says it lapsed, next to the delivered event', async () => {
    const before = await auditMark(cluster)
    const answer = await interact(command(ids.alice, `lapse -cluster=${cluster}`))
    const [, seq, id] = /queued as #(\d+) \((evt_[0-9a-f]+)\)/.exec(answer.data!.content)!
    // 15 minutes on: the token Discord gave with the interaction no longer edits anything.
    await inQueue(cluster, (sql) =>
      sql.exec('UPDATE followups SET expires_at = ? WHERE event_id = ?', Date.now() - 1, id!),
    )

    const poll = await bridge(cluster, 'poll', { bridgeId: 'bridge-d', after: 0, limit: 10, waitMs: 0 })
    const { lease } = (await poll.json()) as { lease: { token: number } }
    const ack = await bridge(cluster, 'ack', {
      bridgeId: 'bridge-d',
      leaseToken: lease.token,
      through: Number(seq),
      rejected: [],
    })
    expect(ack.status).toBe(200)

    const stub = env.CLUSTER_QUEUE.get(env.CLUSTER_QUEUE.idFromName(cluster))
    const lapsed = await waitFor(
      async () => {
        await runDurableObjectAlarm(stub)
        return (await auditOf(cluster, before)).find((r) => r.decision.startsWith('followup-'))
      },
      { timeoutMs: 10_000, what: 'the follow-up to be settled by the alarm' },
    )
    expect(lapsed).toMatchObject({
      door: 'discord',
      principal: principal(ids.alice),
      name: 'lapse',
      decision: 'followup-lapsed',
      reason: 'discord reply window closed',
      eventId: id,
      status: 'delivered',
    })
    const state = await inQueue(cluster, (sql) =>
      sql.exec<{ state: string }>('SELECT state FROM followups WHERE event_id = ?', id!).one(),
    )
    expect(state.state).toBe('lapsed')
  })
})
