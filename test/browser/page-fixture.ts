/**
 * What the on-call page's browser tests run against: the edge in `wrangler dev` with operators
 * configured, a real Serf agent recording every user event its handler runs for, agent-bridge
 * between them, and headless Chromium; started once per test file, stopped after it (by pid, also
 * when a test fails). The page is opened at `localhost`, never `127.0.0.1`: WebAuthn refuses an
 * IP address as relying party.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect } from 'vitest'
import { createInvite, listDevices, revokeDevice } from '../../client/operators.ts'
import { fireEvent, waitForEvent } from '../../client/sdk.ts'
import { startBridge, stopAllBridges } from '../helpers/bridge-process.ts'
import { launchChromium, openPhone, type Phone, type PhoneOptions } from '../helpers/browser.ts'
import { type LocalEdge, startEdge, stopAllEdges } from '../helpers/edge.ts'
import { payloadText, type SerfCluster, startSerfCluster, stopAll } from '../helpers/serf-agent.ts'

const ROOT = resolve(import.meta.dirname, '../..')

/** Operators as the edge's OPERATORS var holds them: one of each kind of quick action. */
export const OPERATORS = {
  alice: {
    clusters: ['main'],
    events: ['restart', 'deploy', 'drain', 'scale-*', 'note-*'],
    custom: true,
    actions: [
      { id: 'restart-web', label: 'Restart web', cluster: 'main', name: 'restart', payload: 'web', coalesce: false },
      {
        id: 'deploy',
        label: 'Deploy version',
        cluster: 'main',
        name: 'deploy',
        ask: { pattern: 'v[0-9]{1,4}', label: 'version', example: 'v42' },
      },
      {
        id: 'drain',
        label: 'Drain node-1',
        cluster: 'main',
        name: 'drain',
        payload: 'node-1',
        confirm: 'hold',
        danger: true,
      },
      {
        id: 'scale-down',
        label: 'Scale web to 1',
        cluster: 'main',
        name: 'scale-down',
        payload: '1',
        confirm: 'approval',
        approvers: ['bob'],
        danger: true,
      },
    ],
  },
  bob: { clusters: ['main'], events: ['scale-*'] },
}

export interface PageFixture {
  /** `http://localhost:<port>`: the page's origin. */
  readonly origin: string
  readonly edge: LocalEdge
  readonly serf: SerfCluster
  readonly browser: Browser
  /** A one-time invite link for `operator`, made with a signed admin request. */
  invite(operator: string): Promise<string>
  /**
   * A new phone whose device is enrolled for `operator` from a fresh invite (`invite`, the link
   * it used); it shows the home screen.
   */
  enrolledPhone(operator: string, options?: PhoneOptions & { deviceName?: string }): Promise<Phone & { invite: string }>
  /** The id of the device called `name`, from the admin API. */
  deviceId(operator: string, name: string): Promise<string>
  revoke(id: string): Promise<void>
  /** `name payload` of every event the agent's handler ran for, in order. */
  received(): Promise<string[]>
  /**
   * Fires a marker through the sender API and waits until the handler ran it: any event queued
   * before it (such as one a refused request would have queued) has reached Serf by then.
   */
  drain(): Promise<void>
}

/** Starts the fixture in `beforeAll` and stops it in `afterAll`. */
export function pageFixture(): PageFixture {
  let dir: string
  let edge: LocalEdge | undefined
  let serf: SerfCluster | undefined
  let browser: Browser | undefined
  let markers = 0
  const started = <T>(part: T | undefined): T => {
    if (part === undefined) throw new Error('the page fixture is not started yet')
    return part
  }
  // The admin API answers an invite link at the origin it was asked at: the page's.
  const sender = (edgeUrl = started(edge).url) => ({ edgeUrl, sender: 'ci', key: started(edge).senderKeys.ci! })

  const fixture: PageFixture = {
    get origin() {
      return started(edge).url.replace('127.0.0.1', 'localhost')
    },
    get edge() {
      return started(edge)
    },
    get serf() {
      return started(serf)
    },
    get browser() {
      return started(browser)
    },
    async invite(operator) {
      return (await createInvite({ ...sender(fixture.origin), operator })).url
    },
    async enrolledPhone(operator, options = {}) {
      const phone = await openPhone(started(browser), options)
      const { page } = phone
      const invite = await fixture.invite(operator)
      await page.goto(invite)
      await page.getByLabel('Device name').fill(options.deviceName ?? `${operator}'s phone`)
      await page.getByRole('button', { name: 'Create passkey' }).click()
      await expect.poll(() => page.getByRole('heading', { name: 'On-call' }).isVisible()).toBe(true)
      return { ...phone, invite }
    },
    async deviceId(operator, name) {
      const device = (await listDevices({ ...sender(), operator })).find((d) => d.name === name)
      if (!device) throw new Error(`no device "${name}" of ${operator}`)
      return device.id
    },
    async revoke(id) {
      await revokeDevice({ ...sender(), id })
    },
    async received() {
      return (await started(serf).agents[0]!.readEvents()).map((e) => `${e.name} ${payloadText(e)}`)
    },
    async drain() {
      const name = `note-marker-${++markers}`
      const { id } = await fireEvent({ ...sender(), cluster: 'main', name, payload: 'marker' })
      await waitForEvent({ ...sender(), cluster: 'main', id, pollIntervalMs: 100, maxPollIntervalMs: 200 })
      await expect.poll(fixture.received).toContain(`${name} marker`)
    },
  }

  beforeAll(async () => {
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-page.ts')])
    dir = await mkdtemp(join(tmpdir(), 'serf-edge-page-'))
    const serfStarted = startSerfCluster({ dir: join(dir, 'serf'), nodes: 1, logLevel: 'info' })
    const browserStarted = launchChromium()
    edge = await startEdge({
      dir: join(dir, 'edge'),
      clusters: { main: { maxEventAge: '15m', bridgeLeaseTtl: '10s' } },
      senders: { ci: { clusters: '*', events: ['*'], audit: '*', operators: '*' } },
      vars: { OPERATORS: JSON.stringify(OPERATORS) },
    })
    serf = await serfStarted
    browser = await browserStarted
    startBridge({
      edgeUrl: edge.url,
      cluster: 'main',
      bridgeKey: edge.bridgeKeys.main!,
      rpcAddr: serf.agents[0]!.rpcAddr,
      cursorFile: join(dir, 'main.cursor.json'),
    })
  })

  afterAll(async () => {
    await browser?.close()
    await stopAllBridges()
    await stopAllEdges()
    await stopAll()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  return fixture
}
