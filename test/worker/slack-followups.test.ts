/**
 * Follow-ups of Slack commands: where the queue may post an event's outcome (Slack's own origin,
 * or one the app allows) and how often (at most 3 posts per `response_url`, leaving Slack's other
 * 2 of 5 to a click's reply). Real posts to a stand-in server: test/e2e/slack.test.ts.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config.ts'
import { runClick } from '../../src/doors/chat/flow.ts'
import { FollowupStore } from '../../src/queue/followups.ts'
import { inQueue } from './helpers.ts'
import { buttonValue, command, ids } from './slack-requests.ts'

type FollowupRow = { kind: string; url: string; announce: number; label: string; expires_at: number; state: string }
const followupOf = (cluster: string, eventId: string) =>
  inQueue(cluster, (sql) => sql.exec<FollowupRow>('SELECT * FROM followups WHERE event_id = ?', eventId).toArray()[0])
const eventIdOf = (text: string) => /\((evt_[0-9a-f]{32})\)/.exec(text)?.[1] ?? `no event id in: ${text}`
const hook = () => `https://hooks.slack.com/commands/${ids.team}/1/${crypto.randomUUID()}`

describe("a follow-up goes only to Slack's origin, or one the app allows", () => {
  it("records the command's response_url on hooks.slack.com, for 30 minutes", async () => {
    const url = hook()
    const answer = await command(ids.alice, 'deploy tell-me', { responseUrl: url })
    const row = await followupOf('staging', eventIdOf(answer.text))
    expect(row).toMatchObject({ kind: 'slack', url, announce: 0, label: '`deploy` "tell-me" on staging' })
    expect(row!.expires_at - Date.now()).toBeGreaterThan(29 * 60_000)
  })

  it('records nothing for a response_url elsewhere, and tells the user to ask for the status', async () => {
    for (const url of ['https://evil.example/commands/1', 'http://127.0.0.1:8080/commands/1']) {
      const answer = await command(ids.alice, 'deploy elsewhere', { responseUrl: url })
      expect(answer.text, url).toMatch(
        /queued as #\d+ \(evt_[0-9a-f]{32}\)\. Ask `\/serf status evt_\w+ -cluster=staging`/,
      )
      expect(await followupOf('staging', eventIdOf(answer.text)), url).toBeUndefined()
    }
  })

  it('posts in the channel for an announced event and for an approved one', async () => {
    const hotfix = await command(ids.alice, 'hotfix 9', { channel: ids.prodChannel, responseUrl: hook() })
    expect((await followupOf('prod', eventIdOf(hotfix.text)))?.announce).toBe(1)

    const value = buttonValue(await command(ids.carol, 'rollback v3'), 'serf_fire')
    const config = await loadConfig(env)
    const approver = { platform: 'slack' as const, workspace: ids.team, user: ids.bob, channel: ids.stagingChannel }
    const approved = await runClick(
      {
        env,
        config,
        app: config.slackApps.get('ops')!.chat,
        actor: { ...approver, roles: [] },
        interactionId: `slack:${crypto.randomUUID()}`,
        replyUrl: hook(),
        replyExpiresAt: Date.now() + 30 * 60_000,
        platformOrigin: 'https://hooks.slack.com',
      },
      'fire',
      value,
    )
    expect(approved.visibility).toBe('channel')
    expect(approved.text).toMatch(new RegExp(`^<@${ids.bob}> approved <@${ids.carol}>’s \`rollback\` "v3" on staging`))
    expect((await followupOf('staging', eventIdOf(approved.text)))?.announce).toBe(1)
  })
})

describe('a follow-up uses a response_url at most 3 times', () => {
  it('posts the outcome, escaped for Slack, and gives up after the third failed post', async () => {
    const answer = await command(ids.alice, 'deploy <!channel> & co', { responseUrl: hook() })
    const id = eventIdOf(answer.text)
    const posts: { url: string; body: unknown }[] = []
    // Slack failing every post: what reaches it is counted, nothing leaves the test.
    const failing = (async (url: string, init: RequestInit) => {
      posts.push({ url, body: JSON.parse(String(init.body)) })
      return new Response('', { status: 500 })
    }) as typeof fetch
    const outcomes = await inQueue('staging', async (sql) => {
      sql.exec(`UPDATE events SET state = 'delivered', settled_at = ? WHERE id = ?`, Date.now(), id)
      const store = new FollowupStore(sql)
      store.markSettled(Date.now())
      const recorded = []
      for (let at = Date.now(), due: number | null = at; due !== null; due = store.nextDue()) {
        at = Math.max(at, due)
        recorded.push(...(await store.send(at, failing)))
      }
      return recorded
    })
    const seq = /#(\d+)/.exec(answer.text)![1]
    expect(posts).toHaveLength(3)
    expect(posts[0]!.body).toEqual({
      response_type: 'ephemeral',
      replace_original: false,
      text: `✅ \`deploy\` "&lt;!channel&gt; &amp; co" on staging delivered to Serf (#${seq})`,
    })
    expect(new Set(posts.map((post) => post.url)).size).toBe(1)
    expect(outcomes).toEqual([
      expect.objectContaining({ decision: 'followup-failed', eventId: id, reason: 'HTTP 500' }),
    ])
    expect((await followupOf('staging', id))?.state).toBe('failed')
  })
})
