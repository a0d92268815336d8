/**
 * The README's screenshots of the on-call page, taken in headless Chromium at phone size
 * (390 × 844) against the real pipeline: docs/page-home.png (an operator's home screen) and
 * docs/page-confirm.png (confirming a dangerous press-and-hold action), and each in the dark
 * colour scheme (docs/page-home-dark.png, docs/page-confirm-dark.png). Run `node scripts/page-screenshots.ts` after changing how the page looks; it
 * starts its own edge, Serf agent and bridge on free ports and stops them when done.
 */
import { execFileSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { createInvite } from '../client/operators.ts'
import { fireEvent, waitForEvent } from '../client/sdk.ts'
import { launchChromium, openPhone } from '../test/helpers/browser.ts'
import { startBridge, stopAllBridges } from './harness/bridge.ts'
import { startEdge, stopAllEdges } from './harness/local-edge.ts'
import { startSerfCluster, stopAllAgents } from './harness/serf.ts'

const root = resolve(import.meta.dirname, '..')

const OPERATORS = {
  alice: {
    clusters: ['prod'],
    events: ['restart', 'deploy', 'drain', 'scale-*'],
    actions: [
      { id: 'restart-web', label: 'Restart web', cluster: 'prod', name: 'restart', payload: 'web' },
      {
        id: 'deploy',
        label: 'Deploy a version',
        cluster: 'prod',
        name: 'deploy',
        ask: { pattern: 'v[0-9]{1,4}', label: 'version', example: 'v42' },
      },
      {
        id: 'drain',
        label: 'Drain node-1',
        cluster: 'prod',
        name: 'drain',
        payload: 'node-1',
        confirm: 'hold',
        danger: true,
      },
      {
        id: 'scale-down',
        label: 'Scale web to 1',
        cluster: 'prod',
        name: 'scale-down',
        payload: '1',
        confirm: 'approval',
        approvers: ['bob'],
        danger: true,
      },
    ],
  },
  bob: {
    clusters: ['prod'],
    events: ['failover'],
    actions: [
      {
        id: 'failover-db',
        label: 'Fail over db',
        cluster: 'prod',
        name: 'failover',
        payload: 'db',
        confirm: 'approval',
        approvers: ['alice'],
        danger: true,
      },
    ],
  },
}

const until = async (check: () => Promise<boolean>, what: string) => {
  for (let deadline = Date.now() + 20_000; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}

/** docs/page-<name>.png (light) and docs/page-<name>-dark.png of `tab` as it is now. */
async function screenshots(tab: Page, name: string): Promise<void> {
  for (const colorScheme of ['light', 'dark'] as const) {
    await tab.emulateMedia({ colorScheme })
    const file = `docs/page-${name}${colorScheme === 'dark' ? '-dark' : ''}.png`
    await writeFile(join(root, file), await tab.screenshot())
    process.stderr.write(`${file}\n`)
  }
  await tab.emulateMedia({ colorScheme: 'light' })
}

const dir = await mkdtemp(join(tmpdir(), 'serf-edge-screenshots-'))
const browser = await launchChromium()
try {
  execFileSync(process.execPath, [join(root, 'scripts/build-page.ts')], { stdio: 'inherit' })
  const serf = await startSerfCluster({ dir: join(dir, 'serf'), nodes: 1, logLevel: 'info' })
  const edge = await startEdge({
    dir: join(dir, 'edge'),
    clusters: { prod: { maxEventAge: '15m', bridgeLeaseTtl: '10s' } },
    senders: { ci: { clusters: '*', events: ['*'], operators: '*' } },
    vars: { OPERATORS: JSON.stringify(OPERATORS) },
  })
  startBridge({
    edgeUrl: edge.url,
    cluster: 'prod',
    bridgeKey: edge.bridgeKeys.prod!,
    rpcAddr: serf.agents[0]!.rpcAddr,
    cursorFile: join(dir, 'prod.cursor.json'),
  })
  const origin = edge.url.replace('127.0.0.1', 'localhost')
  const ci = { edgeUrl: edge.url, sender: 'ci', key: edge.senderKeys.ci!, cluster: 'prod' }

  const enrol = async (operator: string, deviceName: string) => {
    const phone = await openPhone(browser)
    const { url } = await createInvite({ ...ci, edgeUrl: origin, operator })
    await phone.page.goto(url)
    await phone.page.getByLabel('Device name').fill(deviceName)
    await phone.page.getByRole('button', { name: 'Create passkey' }).click()
    await until(() => phone.page.getByRole('heading', { name: 'On-call' }).isVisible(), `${operator}'s home screen`)
    return phone.page
  }
  const alice = await enrol('alice', 'Pixel 8')
  const bob = await enrol('bob', 'iPhone')

  // Some history: a deploy from CI, a restart from the page, and bob asking alice to approve.
  const deploy = await fireEvent({ ...ci, name: 'deploy', payload: 'v41' })
  await waitForEvent({ ...ci, id: deploy.id })
  await alice.getByRole('button', { name: 'Restart web' }).click()
  await alice.getByRole('button', { name: 'Confirm and sign' }).click()
  const status = alice.getByRole('status', { name: 'Event status' })
  await until(async () => (await status.textContent()) === 'Delivered', 'the restart to be delivered')
  await bob.getByRole('button', { name: 'Fail over db' }).click()
  await bob.getByRole('button', { name: 'Request approval' }).click()
  await until(() => bob.getByText('Waiting for approval by alice').isVisible(), "bob's request")

  await alice.getByRole('button', { name: 'Done' }).click()
  await until(
    () => alice.getByRole('button', { name: 'Review: Fail over db' }).isVisible(),
    'the approval on the home screen',
  )
  await until(async () => (await alice.locator('.event-row').count()) >= 2, 'the recent events')
  await screenshots(alice, 'home')

  await alice.getByRole('button', { name: 'Drain node-1' }).click()
  await until(() => alice.getByRole('button', { name: 'Hold to confirm and sign' }).isVisible(), 'the confirm screen')
  await screenshots(alice, 'confirm')
} finally {
  await browser.close()
  await stopAllBridges()
  await stopAllEdges()
  await stopAllAgents()
  await rm(dir, { recursive: true, force: true })
}
