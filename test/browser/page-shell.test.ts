/**
 * The on-call page as an installable phone app, in real headless Chromium against the real
 * edge: its Content-Security-Policy, manifest and icons, layout at phone widths, dark mode, and
 * the offline shell the service worker keeps.
 */
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { openPhone } from '../helpers/browser.ts'
import { pageFixture } from './page-fixture.ts'

const edge = pageFixture()

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(bytes: Buffer): { width: number; height: number } {
  expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))
  expect(bytes.subarray(12, 16).toString('ascii')).toBe('IHDR')
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) }
}

/** Whether the document is wider than the screen (a horizontal scroll bar). */
const overflows = (tab: Page) =>
  tab.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth)

/** Visible buttons and fields shorter than 44 px, by their text. */
const smallTargets = (tab: Page) =>
  tab.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('button, input:not([type=checkbox]), select, textarea'))
      .filter((element) => element.offsetParent !== null && element.getBoundingClientRect().height < 44)
      .map((element) => element.textContent || element.id),
  )

describe('security headers', () => {
  it('serve the page with a strict CSP, under which none of its screens reports a violation', async () => {
    const phone = await edge.enrolledPhone('alice')
    try {
      const tab = phone.page
      const response = (await tab.goto(`${edge.origin}/app/`))!
      const csp = response.headers()['content-security-policy']!
      for (const directive of [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
      ]) {
        expect(csp).toContain(directive)
      }
      expect(csp).not.toContain('unsafe-inline')
      // Every kind of screen: home, an asked payload, a hold, an approval request.
      for (const action of ['Deploy version', 'Drain node-1', 'Scale web to 1']) {
        await tab.getByRole('button', { name: action }).click()
        await tab.getByRole('button', { name: 'Cancel' }).click()
        await expect.poll(() => tab.getByRole('heading', { name: 'On-call' }).isVisible()).toBe(true)
      }
      expect(await phone.cspViolations()).toEqual([])
      // The check itself sees a violation, both as an event and on the console: an inline style.
      await tab.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<p style="color: red">inline</p>'))
      await expect
        .poll(() => phone.cspViolations())
        .toEqual([expect.stringMatching(/^style-src-attr blocked inline/), expect.stringMatching(/style-src 'self'/)])
    } finally {
      await phone.context.close()
    }
  })
})

describe('the web app manifest', () => {
  it('names the app, its scope and standalone display, with 192, 512 and maskable PNG icons', async () => {
    const request = edge.browser.newContext()
    const context = await request
    try {
      const response = await context.request.get(`${edge.origin}/app/manifest.webmanifest`)
      expect(response.status()).toBe(200)
      const manifest = await response.json()
      expect(manifest).toMatchObject({
        id: '/app/',
        start_url: '/app/',
        scope: '/app/',
        display: 'standalone',
        name: expect.any(String),
        short_name: expect.any(String),
        theme_color: expect.stringMatching(/^#[0-9a-f]{6}$/),
        background_color: expect.stringMatching(/^#[0-9a-f]{6}$/),
      })
      const icons: { src: string; sizes: string; type: string; purpose?: string }[] = manifest.icons
      const found = new Set<string>()
      for (const icon of icons) {
        const png = await context.request.get(new URL(icon.src, `${edge.origin}/app/`).href)
        expect(png.headers()['content-type']).toBe('image/png')
        const { width, height } = pngSize(await png.body())
        expect(`${width}x${height}`).toBe(icon.sizes)
        found.add(`${icon.sizes} ${icon.purpose ?? 'any'}`)
      }
      expect([...found].sort()).toEqual(['192x192 any', '512x512 any', '512x512 maskable'])
    } finally {
      await context.close()
    }
  })
})

describe('phone layout', () => {
  it.each([360, 430])(
    'fits %i px without horizontal scrolling, with touch targets of at least 44 px',
    async (width) => {
      const phone = await edge.enrolledPhone('alice', { viewport: { width, height: 800 } })
      try {
        const tab = phone.page
        expect(await overflows(tab)).toBe(false)
        expect(await smallTargets(tab)).toEqual([])
        await tab.getByRole('button', { name: 'Drain node-1' }).click()
        await expect.poll(() => tab.getByRole('button', { name: 'Hold to confirm and sign' }).isVisible()).toBe(true)
        expect(await overflows(tab)).toBe(false)
        expect(await smallTargets(tab)).toEqual([])
      } finally {
        await phone.context.close()
      }
    },
  )

  it('follows the dark color scheme', async () => {
    const background = async (colorScheme: 'light' | 'dark') => {
      const phone = await openPhone(edge.browser, { colorScheme })
      try {
        await phone.page.goto(`${edge.origin}/app/`)
        await expect.poll(() => phone.page.getByRole('button', { name: 'Sign in with passkey' }).isVisible()).toBe(true)
        return await phone.page.evaluate(() => getComputedStyle(document.body).backgroundColor)
      } finally {
        await phone.context.close()
      }
    }
    const [light, dark] = [await background('light'), await background('dark')]
    expect(light).not.toBe(dark)
    // Dark is dark: each of its channels below the middle.
    expect(
      dark
        .match(/\d+/g)!
        .slice(0, 3)
        .every((channel) => Number(channel) < 128),
    ).toBe(true)
  })
})

describe('the offline shell', () => {
  it('opens without a connection, shows the last known statuses read-only, and fires nothing', async () => {
    const phone = await edge.enrolledPhone('alice')
    try {
      const tab = phone.page
      await edge.drain()
      // The service worker took over the page: from now on the page's reads go through it.
      await expect
        .poll(() => tab.evaluate(() => navigator.serviceWorker.controller?.state), { timeout: 10_000 })
        .toBe('activated')
      await tab.getByRole('button', { name: 'Refresh' }).click()
      const marker = tab.locator('.event-row', { hasText: 'note-marker' }).first()
      await expect.poll(() => marker.textContent()).toMatch(/delivered/)

      await phone.context.setOffline(true)
      await tab.reload()
      await expect.poll(() => tab.getByRole('status').filter({ hasText: 'Offline' }).isVisible()).toBe(true)
      await expect.poll(() => marker.textContent()).toMatch(/delivered/)
      for (const name of ['Restart web', 'Deploy version', 'Drain node-1', 'Review custom event', 'Sign out']) {
        expect(await tab.getByRole('button', { name }).isDisabled()).toBe(true)
      }

      await phone.context.setOffline(false)
      await tab.getByRole('button', { name: 'Refresh' }).click()
      await expect.poll(() => tab.getByRole('button', { name: 'Restart web' }).isEnabled()).toBe(true)
      expect(await tab.getByText('Offline.').count()).toBe(0)
    } finally {
      await phone.context.close()
    }
  })
})
