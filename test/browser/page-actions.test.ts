/**
 * The on-call page's actions in real headless Chromium with virtual passkeys, against the real
 * pipeline: wrangler dev → agent-bridge → a Serf agent whose handler records every event. Each
 * test enrols a device of its own from an invite, as an operator would.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { actionChallenge } from '../../protocol/page.ts'
import type { Phone } from '../helpers/browser.ts'
import { pageFixture } from './page-fixture.ts'

const edge = pageFixture()

/** Closes the phone after `test`, also when it fails. */
async function withPhone<T>(phone: Phone | Promise<Phone>, test: (tab: Page, phone: Phone) => Promise<T>): Promise<T> {
  const ready = await phone
  try {
    return await test(ready.page, ready)
  } finally {
    await ready.context.close()
  }
}

/** The live status line of the status screen, once it says `text`. */
const statusReads = (tab: Page, text: string | RegExp) =>
  expect.poll(() => tab.getByRole('status', { name: 'Event status' }).textContent(), { timeout: 20_000 }).toMatch(text)

/** The bodies of the requests the page sent to `path` (`challenge`, `fire`). */
function requestsTo(tab: Page, path: string): string[] {
  const bodies: string[] = []
  tab.on('request', (request) => {
    if (new URL(request.url()).pathname === `/app/api/actions/${path}`) bodies.push(request.postData() ?? '')
  })
  return bodies
}

const count = (events: string[], event: string) => events.filter((e) => e === event).length

describe('enrolment from an invite link', () => {
  it('creates a passkey for the operator and opens a session; the link then dies', async () => {
    await withPhone(edge.enrolledPhone('alice', { deviceName: 'enrol test' }), async (tab, phone) => {
      await expect.poll(() => tab.getByText('alice · enrol test').isVisible()).toBe(true)
      expect(await phone.authenticator.credentials()).toMatchObject([{ isResidentCredential: true }])
      const invite = (phone as Phone & { invite: string }).invite
      await tab.goto(invite)
      await expect.poll(() => tab.getByRole('heading', { name: 'Invite link not valid' }).isVisible()).toBe(true)
      // Someone else who got hold of the link, on another device, cannot use it either.
      const other = await phone.context.browser()!.newPage()
      await other.goto(invite)
      await expect.poll(() => other.getByRole('heading', { name: 'Invite link not valid' }).isVisible()).toBe(true)
      await other.close()
    })
  })
})

describe('a quick action confirmed by a tap', () => {
  it('reaches Serf with exactly its name and payload, and the page follows it to delivered', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      await tab.getByRole('button', { name: 'Restart web' }).click()
      const field = (name: string) => tab.locator(`[data-field=${name}]`).textContent()
      await expect.poll(() => field('payload')).toBe('web')
      expect([await field('cluster'), await field('name'), await field('coalesce')]).toEqual(['main', 'restart', 'no'])
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await statusReads(tab, 'Delivered')
      await expect.poll(edge.received).toContain('restart web')
      // The status screen then lists the cluster's recent events, this one delivered by page:alice.
      const row = tab.locator('.event-row', { hasText: 'restart' }).first()
      await expect.poll(() => row.textContent()).toMatch(/restart.*delivered.*page:alice/)
    })
  })

  it('fires a custom event from the form, and the edge refuses one outside the operator’s scope', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      await tab.getByLabel('Event name').fill('shutdown')
      await tab.getByRole('button', { name: 'Review custom event' }).click()
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await expect.poll(() => tab.getByRole('alert').textContent()).toMatch(/shutdown/)
      await tab.getByRole('button', { name: 'Cancel' }).click()
      await tab.getByLabel('Event name').fill('note-hello')
      await tab.getByLabel('Payload').fill('hi there')
      await tab.getByRole('button', { name: 'Review custom event' }).click()
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await statusReads(tab, 'Delivered')
      // A coalesced event waits in Serf's coalescer, which flushes its names in no set order: a
      // marker fired after it may run first. So wait for the event itself.
      await expect.poll(edge.received).toContain('note-hello hi there')
      await edge.drain()
      expect((await edge.received()).some((e) => e.startsWith('shutdown'))).toBe(false)
    })
  })
})

describe('a quick action that asks for its payload', () => {
  it('refuses on the page a value not matching the pattern, and fires one that does', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      const challenges = requestsTo(tab, 'challenge')
      await tab.getByRole('button', { name: 'Deploy version' }).click()
      const input = tab.getByLabel('version', { exact: true })
      await input.fill('v42; reboot')
      await tab.getByRole('button', { name: 'Continue' }).click()
      await expect.poll(() => tab.getByRole('alert').textContent()).toMatch(/must match v\[0-9\]\{1,4\}/)
      expect(await input.getAttribute('aria-invalid')).toBe('true')
      expect(challenges).toEqual([])
      await input.fill('v42')
      await tab.getByRole('button', { name: 'Continue' }).click()
      await expect.poll(() => tab.locator('[data-field=payload]').textContent()).toBe('v42')
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await statusReads(tab, 'Delivered')
      await expect.poll(edge.received).toContain('deploy v42')
      expect(challenges).toHaveLength(1)
      expect(JSON.parse(challenges[0]!)).toMatchObject({ event: { name: 'deploy', payload: 'v42' }, action: 'deploy' })
    })
  })
})

describe('a quick action confirmed by press-and-hold', () => {
  it('fires nothing when released early, and fires once held long enough', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      const challenges = requestsTo(tab, 'challenge')
      const before = count(await edge.received(), 'drain node-1')
      await tab.getByRole('button', { name: 'Drain node-1' }).click()
      const hold = tab.getByRole('button', { name: 'Hold to confirm and sign' })
      const box = (await hold.boundingBox())!
      await tab.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
      await tab.mouse.down()
      await expect
        .poll(() => tab.locator('.hold-progress').evaluate((p) => (p as HTMLProgressElement).value))
        .toBeGreaterThan(0)
      await tab.mouse.up()
      await expect.poll(() => tab.getByText('Released too early: nothing was sent.').isVisible()).toBe(true)
      expect(await tab.locator('.hold-progress').evaluate((p) => (p as HTMLProgressElement).value)).toBe(0)
      expect(challenges).toEqual([])

      // Held where the button is now: nothing on the screen moved it.
      expect(await hold.boundingBox()).toEqual(box)
      await tab.mouse.down()
      await statusReads(tab, 'Delivered')
      await tab.mouse.up()
      // `drain` is coalesced: wait for it, not for a marker Serf's coalescer may run first.
      await expect.poll(async () => count(await edge.received(), 'drain node-1')).toBe(before + 1)
      await edge.drain()
      expect(count(await edge.received(), 'drain node-1')).toBe(before + 1)
      expect(challenges).toHaveLength(1)
    })
  })
})

describe('a quick action that needs a second operator', () => {
  it('waits for the approver, who signs it on their own device; then it reaches Serf', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (alice) => {
      await withPhone(edge.enrolledPhone('bob'), async (bob) => {
        await alice.getByRole('button', { name: 'Scale web to 1' }).click()
        await alice.getByRole('button', { name: 'Request approval' }).click()
        await statusReads(alice, 'Waiting for approval by bob')
        expect(await edge.received()).not.toContain('scale-down 1')

        await bob.getByRole('button', { name: 'Refresh' }).click()
        await bob.getByRole('button', { name: 'Review: Scale web to 1' }).click()
        await expect.poll(() => bob.getByText('alice asks to send this.', { exact: true }).isVisible()).toBe(true)
        expect(await bob.locator('[data-field=payload]').textContent()).toBe('1')
        await bob.getByRole('button', { name: 'Approve and sign' }).click()
        await statusReads(bob, 'Delivered')
        await expect.poll(edge.received).toContain('scale-down 1')
      })
    })
  })
})

describe('the challenge the passkey signs', () => {
  it('is recomputed by the page: a challenge for another event is refused before the passkey signs', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab, phone) => {
      const fires = requestsTo(tab, 'fire')
      // An edge (or anything between) that asks the passkey to sign `restart db` instead.
      await tab.route('**/app/api/actions/challenge', async (route) => {
        const response = await route.fetch()
        const answer = await response.json()
        const forged = await actionChallenge(
          { cluster: 'main', name: 'restart', payload: 'db', coalesce: false },
          answer.nonce,
        )
        await route.fulfill({
          response,
          json: { ...answer, challenge: forged, options: { ...answer.options, challenge: forged } },
        })
      })
      const { signCount } = (await phone.authenticator.credentials())[0]!
      await tab.getByRole('button', { name: 'Restart web' }).click()
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await expect.poll(() => tab.getByRole('alert').textContent()).toMatch(/other than the event on screen/)
      expect((await phone.authenticator.credentials())[0]!.signCount).toBe(signCount)
      expect(fires).toEqual([])
      await edge.drain()
      expect(await edge.received()).not.toContain('restart db')
    })
  })

  it('cannot be replayed: the same fire request again is refused as nonce-invalid and fires nothing', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      const fires = requestsTo(tab, 'fire')
      await tab.getByRole('button', { name: 'Restart web' }).click()
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await statusReads(tab, 'Delivered')
      await edge.drain()
      const before = count(await edge.received(), 'restart web')

      expect(fires).toHaveLength(1)
      const replay = await tab.request.post(`${edge.origin}/app/api/actions/fire`, {
        headers: { 'content-type': 'application/json', origin: edge.origin },
        data: fires[0],
      })
      expect(replay.status()).toBe(409)
      expect(await replay.json()).toMatchObject({ type: 'urn:serf-edge:problem:nonce-invalid' })
      await edge.drain()
      expect(count(await edge.received(), 'restart web')).toBe(before)
    })
  })
})

describe('assertions the edge refuses', () => {
  it('a payload changed after signing fires nothing', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab) => {
      // Within the action's pattern, so only the signature can tell.
      await tab.route('**/app/api/actions/fire', async (route) => {
        const body = JSON.parse(route.request().postData()!)
        await route.continue({ postData: JSON.stringify({ ...body, event: { ...body.event, payload: 'v666' } }) })
      })
      await tab.getByRole('button', { name: 'Deploy version' }).click()
      await tab.getByLabel('version', { exact: true }).fill('v7')
      await tab.getByRole('button', { name: 'Continue' }).click()
      const refusal = tab.waitForResponse('**/app/api/actions/fire')
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      const problem = await (await refusal).json()
      expect(problem.type).toMatch(/:(nonce-invalid|passkey-rejected)$/)
      await expect.poll(() => tab.getByRole('alert').textContent()).toBe(problem.detail)
      await edge.drain()
      const received = await edge.received()
      expect(received).not.toContain('deploy v666')
      expect(received).not.toContain('deploy v7')
    })
  })

  it('a bogus signature, or one without user verification, fires nothing', async () => {
    await withPhone(edge.enrolledPhone('alice'), async (tab, phone) => {
      await edge.drain()
      const before = count(await edge.received(), 'restart web')
      for (const bits of [{ isBogusSignature: true }, { isBadUV: true }]) {
        await phone.authenticator.overrideResponse(bits)
        await tab.getByRole('button', { name: 'Restart web' }).click()
        await tab.getByRole('button', { name: 'Confirm and sign' }).click()
        await expect.poll(() => tab.getByRole('alert').textContent()).toMatch(/could not be verified/)
        await tab.getByRole('button', { name: 'Cancel' }).click()
      }
      await edge.drain()
      expect(count(await edge.received(), 'restart web')).toBe(before)
    })
  })
})

describe('sessions', () => {
  it('end at sign-out, and the passkey opens a new one', async () => {
    await withPhone(edge.enrolledPhone('alice', { deviceName: 'sign-out test' }), async (tab) => {
      await tab.getByRole('button', { name: 'Sign out' }).click()
      await expect.poll(() => tab.getByText('Signed out.').isVisible()).toBe(true)
      const me = await tab.request.get(`${edge.origin}/app/api/me`)
      expect(me.status()).toBe(401)
      expect(await me.json()).toMatchObject({ type: 'urn:serf-edge:problem:session-required' })

      await tab.getByRole('button', { name: 'Sign in with passkey' }).click()
      await expect.poll(() => tab.getByText('alice · sign-out test').isVisible()).toBe(true)
      expect((await tab.request.get(`${edge.origin}/app/api/me`)).status()).toBe(200)
    })
  })

  it('end at once when the device is revoked: the page asks to sign in, and fires nothing', async () => {
    await withPhone(edge.enrolledPhone('alice', { deviceName: 'revoked phone' }), async (tab) => {
      await edge.drain()
      const before = count(await edge.received(), 'restart web')
      await edge.revoke(await edge.deviceId('alice', 'revoked phone'))

      await tab.getByRole('button', { name: 'Restart web' }).click()
      await tab.getByRole('button', { name: 'Confirm and sign' }).click()
      await expect.poll(() => tab.getByText('Your session ended').isVisible()).toBe(true)
      const challenge = await tab.request.post(`${edge.origin}/app/api/actions/challenge`, {
        headers: { 'content-type': 'application/json', origin: edge.origin },
        data: { event: { cluster: 'main', name: 'restart', payload: 'web', coalesce: false }, action: 'restart-web' },
      })
      expect(challenge.status()).toBe(401)

      // The revoked passkey cannot open a new session either.
      await tab.getByRole('button', { name: 'Sign in with passkey' }).click()
      await expect.poll(() => tab.getByRole('alert').textContent()).toMatch(/revoked/)
      expect((await tab.request.get(`${edge.origin}/app/api/me`)).status()).toBe(401)
      await edge.drain()
      expect(count(await edge.received(), 'restart web')).toBe(before)
    })
  })
})
