/** `/serf` from Discord: what a member may fire, how the edge answers, what the audit trail keeps. */
import { describe, expect, it } from 'vitest'
import { auditMark, auditOf, command, ids, interact, principal, send } from './discord-interactions.ts'
import { inQueue } from './helpers.ts'

type EventRow = { id: string; seq: number; sender: string; name: string; payload: ArrayBuffer; coalesce_flag: number }
type FollowupRow = { event_id: string; kind: string; url: string; expires_at: number; announce: number }

const eventRow = (cluster: string, id: string) =>
  inQueue(cluster, (sql) => sql.exec<EventRow>('SELECT * FROM events WHERE id = ?', id).toArray()[0])
const eventCount = (cluster: string) =>
  inQueue(cluster, (sql) => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n)
const QUEUED = /queued as #(\d+) \((evt_[0-9a-f]+)\)/

describe('a granted command', () => {
  it('is queued with its exact payload and answered privately (flag 64) with the sequence', async () => {
    const before = await auditMark('staging')
    const sent = command(ids.alice, 'deploy v1.4.2  "quoted" ünï -coalesce=false')
    const answer = await interact(sent)
    expect(answer.type).toBe(4)
    expect(answer.data).toMatchObject({ flags: 64, components: [], allowed_mentions: { parse: [] } })
    expect(answer.data!.content).toMatch(/^`deploy` "v1.4.2 {2}\\"quoted\\" ünï" on staging: queued as #\d+ \(evt_/)
    const [, seq, id] = QUEUED.exec(answer.data!.content)!
    const row = (await eventRow('staging', id!))!
    expect(row).toMatchObject({ seq: Number(seq), name: 'deploy', sender: principal(ids.alice), coalesce_flag: 0 })
    expect(new TextDecoder().decode(row.payload)).toBe('v1.4.2  "quoted" ünï')

    const records = await auditOf('staging', before)
    expect(records).toHaveLength(1)
    expect(records[0]).toMatchObject({
      door: 'discord',
      principal: `discord:${ids.guild}:${ids.alice}`,
      channel: ids.stagingChannel,
      name: 'deploy',
      decision: 'queued',
      eventId: id,
    })
  })

  it('keeps where to edit the original response when it settles, for the 15 minutes the token lasts', async () => {
    const sent = command(ids.alice, 'deploy v2')
    const sentAt = Date.now()
    const [, , id] = QUEUED.exec((await interact(sent)).data!.content)!
    const followup = await inQueue('staging', (sql) =>
      sql.exec<FollowupRow>('SELECT * FROM followups WHERE event_id = ?', id!).one(),
    )
    expect(followup).toMatchObject({
      kind: 'discord',
      url: `https://discord.com/api/v10/webhooks/${ids.application}/${sent.token}/messages/@original`,
      announce: 0,
    })
    expect(followup.expires_at - sentAt).toBeGreaterThanOrEqual(15 * 60_000)
    expect(followup.expires_at - Date.now()).toBeLessThanOrEqual(15 * 60_000)
  })

  it('the same interaction delivered twice queues one event', async () => {
    const sent = command(ids.alice, 'deploy once')
    const first = await interact(sent)
    const count = await eventCount('staging')
    const second = await interact(sent)
    expect(QUEUED.exec(second.data!.content)![1]).toBe(QUEUED.exec(first.data!.content)![1])
    expect(await eventCount('staging')).toBe(count)
  })

  it('goes to the channel’s cluster, and an announced event is posted for the channel without pinging', async () => {
    const answer = await interact(command(ids.alice, 'hotfix @everyone', { channel: ids.prodChannel }))
    expect(answer.type).toBe(4)
    expect(answer.data!.flags).toBeUndefined()
    expect(answer.data!.content).toMatch(
      new RegExp(`^<@${ids.alice}> fired \`hotfix\` "@everyone" on prod: queued as #\\d+`),
    )
    expect(answer.data!.allowed_mentions).toEqual({ parse: [] })
  })
})

describe('refusals, deny by default', () => {
  const refused = async (sent: ReturnType<typeof command>, cluster = 'staging') => {
    const before = await auditMark(cluster)
    const count = await eventCount(cluster)
    const answer = await interact(sent)
    expect(answer.type).toBe(4)
    expect(answer.data!.flags).toBe(64)
    expect(await eventCount(cluster)).toBe(count)
    return { content: answer.data!.content, records: await auditOf(cluster, before) }
  }

  it('a member granted nothing is refused, and the refusal is in the audit trail', async () => {
    const { content, records } = await refused(command(ids.mallory, 'deploy v1'))
    expect(content).toMatch(/^Not fired: Discord user 1300000000000000004 \(ops\) may not send to cluster "staging"/)
    expect(records).toEqual([
      expect.objectContaining({ door: 'discord', principal: principal(ids.mallory), decision: 'refused' }),
    ])
    expect(records[0]!.reason).toMatch(/^forbidden: /)
  })

  it('an event outside the grants is refused', async () => {
    const { content } = await refused(command(ids.alice, 'reboot now'))
    expect(content).toContain('may not fire event "reboot"')
  })

  it("one grant's events do not carry over to another grant's clusters", async () => {
    const { content } = await refused(command(ids.alice, 'hotfix x -cluster=staging'))
    expect(content).toContain('may not fire event "hotfix"')
  })

  it('the same user id in another guild has no grants', async () => {
    const { records } = await refused(command(ids.alice, 'deploy v1', { guild: ids.otherGuild }))
    expect(records[0]).toMatchObject({ principal: principal(ids.alice, ids.otherGuild), decision: 'refused' })
  })

  it('in a direct message, outside any guild, nothing is granted', async () => {
    const { records } = await refused(command(ids.alice, 'deploy v1', { guild: null }))
    expect(records[0]).toMatchObject({ principal: `discord:dm:${ids.alice}`, decision: 'refused' })
  })

  it('a command the edge cannot parse gets a hint, not an error', async () => {
    const { content } = await refused(command(ids.alice, '-cluster=staging'))
    expect(content).toBe('no event name given. Try `/serf help`.')
  })

  it('another command than /serf is answered, not run', async () => {
    const sent = { ...command(ids.alice, 'deploy v1'), data: { id: '1', name: 'other', type: 1 } }
    const { content } = await refused(sent as ReturnType<typeof command>)
    expect(content).toBe('This endpoint serves `/serf` only.')
  })
})

describe('help shows a member only what they may fire', () => {
  const help = async (user: string, roles: string[] = [], text: string | undefined = 'help') => {
    const answer = await interact(command(user, text, { roles }))
    expect(answer.data!.flags).toBe(64)
    return answer.data!.content
  }

  it('by user grants, with the channel’s default cluster', async () => {
    const text = await help(ids.alice)
    expect(text).toContain('• `deploy`, `restart-*` on staging')
    expect(text).toContain('• `hotfix` on prod')
    expect(text).not.toContain('rollback')
    expect(text).toContain('Without -cluster, events go to staging.')
  })

  it('by role grants: the on-call role sees rollback, its query and nothing else; /serf alone is help', async () => {
    const text = await help(ids.carol, [ids.oncallRole], undefined)
    expect(text).toContain('Here you may fire and ask:\n• `rollback` on staging, prod\n• queries `whoami` on prod')
    expect(text).not.toContain('deploy')
  })

  it('the same member without the role, or a member granted nothing, sees nothing to fire', async () => {
    expect(await help(ids.carol)).toBe('You may not fire any event here. Ask an operator to grant you some.')
    expect(await help(ids.mallory)).toBe('You may not fire any event here. Ask an operator to grant you some.')
  })
})

describe('interactions the door does not serve', () => {
  it('an autocomplete request is refused as a request, nothing run', async () => {
    const res = await send({ ...command(ids.alice, 'deploy'), type: 4 })
    expect(res.status).toBe(422)
  })
})
