/**
 * Confirmations and the two-person rule, enforced by the edge: a button's value is an opaque,
 * single-use pending id bound to its requester, cluster and event, open for 5 minutes; every
 * click, refused or not, is in the audit trail.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import type { AuditPage, AuditRecord } from '../../protocol/audit.ts'
import { loadConfig } from '../../src/config.ts'
import { type ChatContext, runClick } from '../../src/doors/chat/flow.ts'
import { renderClickReply } from '../../src/doors/slack/render.ts'
import { get, inQueue } from './helpers.ts'
import { buttonValue, click, command, ids, principal } from './slack-requests.ts'

const cluster = 'staging'

/** The audit trail of staging after record `after`, as an operator reads it. */
async function trail(after: number): Promise<AuditRecord[]> {
  const res = await get(`/v1/clusters/${cluster}/audit?after=${after}&limit=500`)
  if (res.status !== 200) throw new Error(`expected 200, got ${res.status}: ${await res.text()}`)
  return ((await res.json()) as AuditPage).records
}
const mark = () =>
  inQueue(cluster, (sql) => sql.exec<{ n: number | null }>('SELECT MAX(seq) AS n FROM audit').one().n ?? 0)
const summary = (records: AuditRecord[]) => records.map((r) => [r.decision, r.principal.split(':')[2], r.reason])

type PendingRow = { state: string; decided_by: string | null }
const pendingRow = (id: string) =>
  inQueue(cluster, (sql) => sql.exec<PendingRow>('SELECT state, decided_by FROM pending WHERE id = ?', id).one())
/** Events queued under a confirmation: its pending id is their request id. */
const firedBy = (id: string) =>
  inQueue(cluster, (sql) =>
    sql.exec<{ name: string; sender: string }>('SELECT name, sender FROM events WHERE request_id = ?', id).toArray(),
  )

/** Ask for a confirmation as alice; the Fire button's value and its pending id. */
async function confirmation(text = 'danger-restart web') {
  const answer = await command(ids.alice, text)
  const value = buttonValue(answer, 'serf_fire')
  return { answer, value, id: value.split(':')[1]! }
}

describe('a confirmation is enforced by the edge', () => {
  it('a danger-* event asks its requester first: Fire and Cancel buttons, nothing queued', async () => {
    const start = await mark()
    const { answer, value, id } = await confirmation()
    expect(answer.response_type).toBe('ephemeral')
    expect(answer.text).toBe(
      'Fire `danger-restart` "web" on staging (coalesce true)? This asks for your confirmation; it expires in 5 minutes.',
    )
    const buttons = answer.blocks?.find((block) => block.type === 'actions')?.elements
    expect(buttons?.map((b) => [b.action_id, b.text.text, b.style, b.value])).toEqual([
      ['serf_fire', 'Fire', 'danger', value],
      ['serf_cancel', 'Cancel', undefined, value],
    ])
    expect(value).toMatch(/^staging:pnd_[0-9a-f]{32}$/)
    expect(await pendingRow(id)).toEqual({ state: 'open', decided_by: null })
    expect(await firedBy(id)).toEqual([])
    const [pending] = await trail(start)
    expect(pending).toMatchObject({
      door: 'slack',
      principal: principal(ids.alice),
      channel: ids.stagingChannel,
      name: 'danger-restart',
      decision: 'pending',
      reason: 'needs confirm',
    })
  })

  it("the requester's Fire queues it once; a second click fires nothing more", async () => {
    const start = await mark()
    const { value, id } = await confirmation()
    const res = await click(ids.alice, 'serf_fire', value)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('')
    expect(await firedBy(id)).toEqual([{ name: 'danger-restart', sender: principal(ids.alice) }])
    expect(await pendingRow(id)).toEqual({ state: 'fired', decided_by: principal(ids.alice) })
    expect((await click(ids.alice, 'serf_fire', value)).status).toBe(200)
    expect(await firedBy(id)).toHaveLength(1)
    expect(summary(await trail(start))).toEqual([
      ['pending', ids.alice, 'needs confirm'],
      ['queued', ids.alice, undefined],
      ['refused', ids.alice, `already-fired: by ${principal(ids.alice)}`],
    ])
  })

  it('Cancel fires nothing, and spends the buttons', async () => {
    const start = await mark()
    const { value, id } = await confirmation()
    await click(ids.alice, 'serf_cancel', value)
    await click(ids.alice, 'serf_fire', value)
    expect(await firedBy(id)).toEqual([])
    expect(await pendingRow(id)).toEqual({ state: 'cancelled', decided_by: principal(ids.alice) })
    expect(summary(await trail(start)).slice(1)).toEqual([
      ['cancelled', ids.alice, undefined],
      ['refused', ids.alice, `already-cancelled: by ${principal(ids.alice)}`],
    ])
  })

  it("another user's click is refused and leaves the confirmation to its requester", async () => {
    const start = await mark()
    const { value, id } = await confirmation()
    await click(ids.bob, 'serf_fire', value)
    await click(ids.bob, 'serf_cancel', value)
    // The same user id in another workspace is another principal.
    await click(ids.alice, 'serf_fire', value, { team: ids.otherTeam })
    expect(await pendingRow(id)).toEqual({ state: 'open', decided_by: null })
    await click(ids.alice, 'serf_fire', value)
    expect(await firedBy(id)).toHaveLength(1)
    expect(summary(await trail(start)).slice(1, 4)).toEqual([
      ['refused', ids.bob, 'forbidden: only the person who asked can confirm it'],
      ['refused', ids.bob, 'forbidden: only the requester or an approver may cancel'],
      ['refused', ids.alice, 'forbidden: only the person who asked can confirm it'],
    ])
  })

  it('an expired confirmation fires nothing', async () => {
    const start = await mark()
    const { value, id } = await confirmation()
    // Five minutes pass: the stored deadline moves into the past instead of the test sleeping.
    await inQueue(cluster, (sql) => sql.exec('UPDATE pending SET expires_at = ? WHERE id = ?', Date.now() - 1, id))
    await click(ids.alice, 'serf_fire', value)
    await click(ids.alice, 'serf_fire', value)
    expect(await firedBy(id)).toEqual([])
    expect(await pendingRow(id)).toEqual({ state: 'expired', decided_by: null })
    expect(summary(await trail(start)).slice(1)).toEqual([
      ['refused', ids.alice, 'expired: the confirmation expired'],
      ['refused', ids.alice, 'expired: the confirmation expired'],
    ])
  })
})

describe('the two-person rule', () => {
  it("needs a lead other than the requester: her own and a stranger's Fire are refused, a lead's fires", async () => {
    const start = await mark()
    const answer = await command(ids.carol, 'rollback v2')
    expect(answer.response_type).toBe('in_channel')
    expect(answer.text).toBe(
      `<@${ids.carol}> asks to fire \`rollback\` "v2" on staging (coalesce true). It needs approval by someone in ` +
        '"leads" other than them; expires in 5 minutes.',
    )
    const value = buttonValue(answer, 'serf_fire')
    const id = value.split(':')[1]!
    await click(ids.carol, 'serf_fire', value)
    await click(ids.mallory, 'serf_fire', value)
    expect(await firedBy(id)).toEqual([])
    await click(ids.bob, 'serf_fire', value)
    expect(await firedBy(id)).toEqual([{ name: 'rollback', sender: principal(ids.carol) }])
    const records = await trail(start)
    expect(summary(records)).toEqual([
      ['pending', ids.carol, 'needs approval'],
      ['refused', ids.carol, 'forbidden: it needs the approval of someone else in the approver group'],
      ['refused', ids.mallory, 'forbidden: only a member of the approver group can approve it'],
      ['approved', ids.bob, undefined],
      ['queued', ids.carol, undefined],
    ])
    expect(records.at(-1)).toMatchObject({ door: 'slack', channel: ids.stagingChannel, name: 'rollback' })
  })
})

describe('what a click answers', () => {
  /** The chat core's context for a click by `user`, as the Slack door builds it, without a reply URL. */
  async function clickedBy(user: string): Promise<ChatContext> {
    const config = await loadConfig(env)
    const actor = { platform: 'slack' as const, workspace: ids.team, user, channel: ids.stagingChannel, roles: [] }
    const app = config.slackApps.get('ops')!.chat
    const interactionId = `slack:${crypto.randomUUID()}`
    return { env, config, app, actor, interactionId, replyExpiresAt: 0, platformOrigin: 'https://hooks.slack.com' }
  }

  it('names why nothing fired, and replaces the confirmation once it is decided', async () => {
    const { value, id } = await confirmation('danger-drain db1')
    const other = await runClick(await clickedBy(ids.bob), 'fire', value)
    expect(other).toEqual({
      text: 'You cannot do that: only the person who asked can confirm it. Nothing fired.',
      visibility: 'ephemeral',
    })
    const fired = await runClick(await clickedBy(ids.alice), 'fire', value)
    expect(fired.text).toMatch(
      /^`danger-drain` "db1" on staging: queued as #\d+ \(evt_[0-9a-f]{32}\)\. Ask `\/serf status/,
    )
    expect(renderClickReply(fired, true)).toEqual([
      { response_type: 'ephemeral', replace_original: true, text: fired.text },
    ])
    const again = await runClick(await clickedBy(ids.alice), 'fire', value)
    expect(again.text).toBe(`This confirmation was already fired by <@${ids.alice}>; nothing more fired.`)
    expect(renderClickReply(again, true)).toEqual([
      { response_type: 'ephemeral', replace_original: false, text: again.text },
    ])
    expect(await firedBy(id)).toHaveLength(1)

    const late = await confirmation('danger-drain db2')
    await inQueue(cluster, (sql) => sql.exec('UPDATE pending SET expires_at = 0 WHERE id = ?', late.id))
    const expired = await runClick(await clickedBy(ids.alice), 'fire', late.value)
    expect(expired).toEqual({
      text: 'This confirmation expired (5 minutes); nothing fired. Run the command again.',
      visibility: 'ephemeral',
      replace: true,
    })
  })

  it('an announcement cannot replace an ephemeral confirmation: it is deleted, the channel told', () => {
    const announced = { text: `<@${ids.alice}> fired \`x\` <!channel>`, visibility: 'channel' as const, replace: true }
    const text = `<@${ids.alice}> fired \`x\` &lt;!channel&gt;`
    expect(renderClickReply(announced, true)).toEqual([
      { delete_original: true },
      { response_type: 'in_channel', replace_original: false, text },
    ])
    expect(renderClickReply(announced, false)).toEqual([{ response_type: 'in_channel', replace_original: true, text }])
  })
})
