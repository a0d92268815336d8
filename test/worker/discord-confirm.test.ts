/**
 * Confirmations and two-person approval through Discord's buttons: the edge holds the event,
 * each button works once, only for the person entitled, and only within 5 minutes.
 */
import { describe, expect, it } from 'vitest'
import {
  type Answer,
  auditMark,
  auditOf,
  buttons,
  click,
  command,
  ids,
  interact,
  principal,
} from './discord-interactions.ts'
import { inQueue } from './helpers.ts'

const eventCount = (cluster: string) =>
  inQueue(cluster, (sql) => sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM events').one().n)

/** Ask for `restart-web` as Alice; return the Fire and Cancel buttons' custom ids. */
async function askRestart(payload = 'now') {
  const answer = await interact(command(ids.alice, `restart-web ${payload}`))
  expect(answer.type).toBe(4)
  expect(answer.data!.flags).toBe(64)
  expect(answer.data!.content).toBe(
    `Fire \`restart-web\` "${payload}" on staging (coalesce true)? This asks for your confirmation; it expires in 5 minutes.`,
  )
  const { Fire, Cancel } = buttons(answer)
  expect(Fire).toMatchObject({ style: 4, custom_id: expect.stringMatching(/^serf:fire:staging:pnd_[0-9a-f]{32}$/) })
  expect(Cancel).toMatchObject({ style: 2, custom_id: Fire!.custom_id.replace('serf:fire:', 'serf:cancel:') })
  return { fire: Fire!.custom_id, cancel: Cancel!.custom_id }
}

const ephemeral = (answer: Answer) => {
  expect(answer.type).toBe(4)
  expect(answer.data!.flags).toBe(64)
  return answer.data!.content
}

const updated = (answer: Answer) => {
  expect(answer.type).toBe(7)
  expect(answer.data!.components).toEqual([])
  expect(answer.data!.flags).toBeUndefined()
  return answer.data!.content
}

describe('an event that needs a confirmation', () => {
  it('is held until its requester clicks Fire, which replaces the question with the queued answer', async () => {
    const before = await auditMark('staging')
    const count = await eventCount('staging')
    const { fire } = await askRestart()
    expect(await eventCount('staging')).toBe(count)

    const content = updated(await interact(click(ids.alice, fire)))
    expect(content).toMatch(/^`restart-web` "now" on staging: queued as #\d+ \(evt_[0-9a-f]+\)\. You will hear/)
    expect(await eventCount('staging')).toBe(count + 1)
    const records = await auditOf('staging', before)
    expect(records.map((r) => [r.principal, r.decision, r.name])).toEqual([
      [principal(ids.alice), 'pending', 'restart-web'],
      [principal(ids.alice), 'queued', 'restart-web'],
    ])
    expect(records.every((r) => r.door === 'discord')).toBe(true)
  })

  it('a second click on Fire fires nothing more and says who fired it', async () => {
    const { fire } = await askRestart('twice')
    await interact(click(ids.alice, fire))
    const count = await eventCount('staging')
    const again = ephemeral(await interact(click(ids.alice, fire)))
    expect(again).toBe(`This confirmation was already fired by <@${ids.alice}>; nothing more fired.`)
    expect(await eventCount('staging')).toBe(count)
  })

  it('another member’s click fires nothing, and the requester can still confirm', async () => {
    const { fire } = await askRestart('mine')
    const count = await eventCount('staging')
    const other = ephemeral(await interact(click(ids.bob, fire)))
    expect(other).toBe('You cannot do that: only the person who asked can confirm it. Nothing fired.')
    expect(await eventCount('staging')).toBe(count)
    updated(await interact(click(ids.alice, fire)))
    expect(await eventCount('staging')).toBe(count + 1)
  })

  it('Cancel replaces the question, records the cancellation, and Fire afterwards fires nothing', async () => {
    const before = await auditMark('staging')
    const count = await eventCount('staging')
    const { fire, cancel } = await askRestart('cancelled')
    expect(updated(await interact(click(ids.alice, cancel)))).toBe(
      `<@${ids.alice}> cancelled \`restart-web\` on staging; nothing fired.`,
    )
    expect(ephemeral(await interact(click(ids.alice, fire)))).toMatch(/^This confirmation was already cancelled by/)
    expect(await eventCount('staging')).toBe(count)
    const records = await auditOf('staging', before)
    expect(records.map((r) => r.decision)).toEqual(['pending', 'cancelled', 'refused'])
    expect(records[2]!.reason).toMatch(/^already-cancelled/)
  })

  it('after 5 minutes the question is replaced by "expired" and nothing fires', async () => {
    const { fire } = await askRestart('late')
    const id = fire.split(':').at(-1)!
    await inQueue('staging', (sql) => sql.exec('UPDATE pending SET expires_at = ? WHERE id = ?', Date.now() - 1, id))
    const count = await eventCount('staging')
    expect(updated(await interact(click(ids.alice, fire)))).toBe(
      'This confirmation expired (5 minutes); nothing fired. Run the command again.',
    )
    expect(await eventCount('staging')).toBe(count)
  })

  it('a button that is not the edge’s, or names no open confirmation, fires nothing', async () => {
    expect(ephemeral(await interact(click(ids.alice, 'other-bot:approve')))).toBe(
      'This button is not one of serf-edge’s; nothing fired.',
    )
    const unknown = `serf:fire:staging:pnd_${'0'.repeat(32)}`
    expect(ephemeral(await interact(click(ids.alice, unknown)))).toBe(
      'This confirmation is unknown (or long gone); nothing fired.',
    )
  })
})

describe('an event that needs a second person’s approval', () => {
  const oncall = { roles: [ids.oncallRole], channel: ids.prodChannel }

  it('is asked for in the channel and fired only when someone else in the group approves', async () => {
    const before = await auditMark('prod')
    const count = await eventCount('prod')
    const asked = await interact(command(ids.carol, 'rollback v41', oncall))
    expect(asked.type).toBe(4)
    expect(asked.data!.flags).toBeUndefined()
    expect(asked.data!.content).toBe(
      `<@${ids.carol}> asks to fire \`rollback\` "v41" on prod (coalesce true). ` +
        'It needs approval by someone in "leads" other than them; expires in 5 minutes.',
    )
    const approve = buttons(asked)['Approve and fire']!
    expect(approve.style).toBe(4)
    expect(buttons(asked).Decline!.style).toBe(2)

    // Carol is in the group herself, but a second person means someone other than the requester.
    expect(ephemeral(await interact(click(ids.carol, approve.custom_id, oncall)))).toBe(
      'You cannot do that: it needs the approval of someone else in the approver group. Nothing fired.',
    )
    expect(ephemeral(await interact(click(ids.mallory, approve.custom_id, oncall)))).toBe(
      'You cannot do that: only a member of the approver group can approve it. Nothing fired.',
    )
    expect(await eventCount('prod')).toBe(count)

    const fired = updated(await interact(click(ids.bob, approve.custom_id, { channel: ids.prodChannel })))
    expect(fired).toMatch(
      new RegExp(`^<@${ids.bob}> approved <@${ids.carol}>’s \`rollback\` "v41" on prod: queued as #\\d+`),
    )
    expect(await eventCount('prod')).toBe(count + 1)
    const records = await auditOf('prod', before)
    expect(records.map((r) => [r.principal, r.decision])).toEqual([
      [principal(ids.carol), 'pending'],
      [principal(ids.carol), 'refused'],
      [principal(ids.mallory), 'refused'],
      [principal(ids.bob), 'approved'],
      [principal(ids.carol), 'queued'],
    ])
    expect(records.every((r) => r.door === 'discord' && r.name === 'rollback')).toBe(true)
  })

  it('an approver can decline it; nothing fires', async () => {
    const count = await eventCount('prod')
    const asked = await interact(command(ids.carol, 'rollback v40', oncall))
    const decline = buttons(asked).Decline!.custom_id
    expect(updated(await interact(click(ids.bob, decline)))).toBe(
      `<@${ids.bob}> cancelled \`rollback\` on prod; nothing fired.`,
    )
    expect(await eventCount('prod')).toBe(count)
  })
})
