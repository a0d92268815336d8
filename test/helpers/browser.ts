/**
 * Real headless Chromium for the on-call page's tests (Debian's `chromium`, driven by
 * playwright-core): a phone-sized context per person, each with a virtual passkey authenticator
 * of its own (Chrome DevTools Protocol, `WebAuthn` domain: CTAP2, platform, resident keys, user
 * verification), and what the page reports about Content-Security-Policy violations.
 */
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'

/** A phone: 390 × 844 CSS pixels, touch, a phone's user agent hints. */
export const PHONE = { width: 390, height: 844 }

/**
 * Launch headless Chromium. `--no-sandbox`: the tests run as root in a container, where
 * Chromium's sandbox cannot start.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 })
}

/** One virtual authenticator, attached to one page: the person's phone and its passkeys. */
export class VirtualAuthenticator {
  readonly #cdp: CDPSession
  readonly id: string

  constructor(cdp: CDPSession, id: string) {
    this.#cdp = cdp
    this.id = id
  }

  /** The passkeys it holds: credential id (base64), resident or not, its signature count. */
  async credentials(): Promise<{ credentialId: string; isResidentCredential: boolean; signCount: number }[]> {
    const { credentials } = await this.#cdp.send('WebAuthn.getCredentials', { authenticatorId: this.id })
    return credentials
  }

  /**
   * Make the next assertions faulty: a signature that does not verify, the user-verified or
   * user-present flag cleared.
   */
  async overrideResponse(bits: { isBogusSignature?: boolean; isBadUV?: boolean; isBadUP?: boolean }): Promise<void> {
    await this.#cdp.send('WebAuthn.setResponseOverrideBits', { authenticatorId: this.id, ...bits })
  }

  /** Whether the next ceremonies report the user verified (a fingerprint that matched). */
  async setUserVerified(isUserVerified: boolean): Promise<void> {
    await this.#cdp.send('WebAuthn.setUserVerified', { authenticatorId: this.id, isUserVerified })
  }
}

/** A person with a phone: a browser context at phone size, its page, its authenticator. */
export interface Phone {
  context: BrowserContext
  page: Page
  authenticator: VirtualAuthenticator
  /** Content-Security-Policy violations the page reported (`securitypolicyviolation` events and console). */
  cspViolations(): Promise<string[]>
}

export interface PhoneOptions {
  colorScheme?: 'light' | 'dark'
  viewport?: { width: number; height: number }
}

/**
 * A new context and page with a virtual platform authenticator (passkeys, user verification).
 * @example const alice = await openPhone(browser); await alice.page.goto(`${origin}/app/`)
 */
export async function openPhone(browser: Browser, options: PhoneOptions = {}): Promise<Phone> {
  const context = await browser.newContext({
    viewport: options.viewport ?? PHONE,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: options.colorScheme ?? 'light',
  })
  const page = await context.newPage()
  const logged: string[] = []
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) logged.push(message.text())
  })
  // Runs before the page's own scripts, in every document; the page's CSP does not apply to it.
  await page.addInitScript(() => {
    const seen: string[] = []
    Object.defineProperty(window, '__cspViolations', { value: seen })
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(
        `${event.effectiveDirective} blocked ${event.blockedURI || 'inline'} (${event.sourceFile}:${event.lineNumber})`,
      )
    })
  })
  const cdp = await context.newCDPSession(page)
  await cdp.send('WebAuthn.enable', { enableUI: false })
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  })
  return {
    context,
    page,
    authenticator: new VirtualAuthenticator(cdp, authenticatorId),
    async cspViolations() {
      const reported = await page
        .evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
        .catch(() => [] as string[])
      return [...reported, ...logged]
    },
  }
}
