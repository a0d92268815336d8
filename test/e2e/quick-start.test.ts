/**
 * First run: in a fresh copy of the repository, `npm start` brings up edge, Serf agent and
 * bridge, prints a command that fires an event, shows the event arriving at the agent's handler,
 * and Ctrl-C takes everything down again. Real wrangler dev, real serf, real npm.
 */
import { execFile } from 'node:child_process'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseEnv, promisify } from 'node:util'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { devPaths } from '../../scripts/dev/config.ts'
import { ensureDevKeys } from '../../scripts/dev/keys.ts'
import { copyWorkingTree, GroupRun, processTree, survivors } from '../helpers/npm-start.ts'
import { readmeRecipe } from '../helpers/readme.ts'
import { freePort } from '../helpers/serf-agent.ts'

const sh = promisify(execFile)
const NODE_DIR = dirname(process.execPath)

let dir: string
const runs: { run: GroupRun; pgids: number[] }[] = []

/** The environment of someone who just cloned: no serf-edge settings of their own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  for (const name of Object.keys(env)) {
    if (/^(SERF_EDGE_|SERF_RPC_|INIT_CWD$|npm_)/.test(name)) delete env[name]
  }
  // This node first, for npm's `#!/usr/bin/env node`; loopback only, so no wrangler telemetry.
  return { ...env, PATH: `${NODE_DIR}:${env.PATH}`, WRANGLER_SEND_METRICS: 'false', ...extra }
}

/** The line after "Fire a first event", trimmed: the command to copy. */
function printedCommand(output: string): string {
  const lines = output.split('\n')
  const at = lines.findIndex((line) => line.startsWith('Fire a first event'))
  return lines
    .slice(at + 1)
    .find((line) => line.trim() !== '')!
    .trim()
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-first-run-'))
  await copyWorkingTree(dir)
})

afterEach(async () => {
  // A failed test leaves nothing running either: kill the groups of everything still below the
  // run, then the run's own group.
  for (const { run, pgids } of runs.splice(0)) {
    const below = (await processTree(run.pgid)).map((p) => p.pgid)
    for (const pgid of new Set([...below, ...pgids, run.pgid])) {
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        // gone
      }
    }
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('npm start runs the whole pipeline on one machine', () => {
  it('prints a command whose event the dev agent handler shows; Ctrl-C stops everything, exit 0', {
    timeout: 300_000,
  }, async () => {
    const port = await freePort()
    const rpcAddr = `127.0.0.1:${await freePort()}`
    const run = new GroupRun('npm', ['start'], {
      cwd: dir,
      env: cleanEnv({ PORT: String(port), SERF_RPC_ADDR: rpcAddr }),
    })
    const tracked = { run, pgids: [] as number[] }
    runs.push(tracked)
    await run.waitForOutput(/^Fire a first event/m)
    expect(run.output).toContain('Using secrets defined in .dev.vars')
    expect(run.output).toContain('.dev.vars created with new development keys')
    const command = printedCommand(run.output)
    expect(command).toBe('node --env-file=.serf-edge/dev.env client/cli.ts event -wait deploy v1')

    const fired = await sh('/bin/sh', ['-c', command], { cwd: dir, env: cleanEnv({}) })
    expect(fired.stdout).toMatch(/Event 'deploy' delivered/)
    await run.waitForOutput(/^event +│ received user event "deploy", payload "v1", Lamport time \d+$/m, 30_000)
    expect(run.output).toMatch(/^bridge +│ batch emitted into Serf {2}from=1 {2}through=1/m)

    // The development doors answer README's recipes, signed with what .serf-edge/dev.env holds.
    expect(run.output).toMatch(
      /doors +Slack http:\/\/127\.0\.0\.1:\d+\/v1\/slack\/dev\/commands \(team T0DEV, user U0DEV\)/,
    )
    // The on-call page: its URL on localhost (WebAuthn refuses IP hosts) and an invite for operator dev that answers.
    expect(run.output).toMatch(new RegExp(`^  page +http://localhost:${port}/app/ `, 'm'))
    const link = new RegExp(`^ +(http://localhost:${port}/app/#invite=(\\S+))$`, 'm').exec(run.output)
    expect(link, 'an invite link in the output').not.toBeNull()
    const enrol = await fetch(`http://127.0.0.1:${port}/app/api/enrol/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ invite: link![2] }),
    })
    expect(enrol.status).toBe(200)
    expect(await enrol.json()).toMatchObject({ operator: 'dev', options: { rp: { id: 'localhost' } } })

    const tools = parseEnv(await readFile(join(dir, '.serf-edge/dev.env'), 'utf8'))
    const sha = 'c0ffee'.repeat(6).slice(0, 40)
    for (const [recipe, args] of [
      ['slack-command', ['hello-slack', 'from-slack', '-coalesce=false']],
      ['discord-interaction', ['hello-discord', 'from-discord', '-coalesce=false']],
      ['github-push', ['octo/app', 'main', sha]],
    ] as const) {
      const script = await readmeRecipe(recipe, dir)
      await sh('bash', [script, ...args], { cwd: dir, env: cleanEnv(tools as Record<string, string>) })
    }
    for (const [name, payload] of [
      ['hello-slack', 'from-slack'],
      ['hello-discord', 'from-discord'],
      ['deploy', sha],
    ]) {
      const line = new RegExp(`^event +│ received user event "${name}", payload "${payload}", Lamport time \\d+$`, 'm')
      await run.waitForOutput(line, 30_000)
    }

    const tree = await processTree(run.pgid)
    tracked.pgids = [...new Set(tree.map((p) => p.pgid))]
    const commands = tree.map((p) => p.command).join('\n')
    expect(commands).toMatch(/wrangler\.js dev/)
    expect(commands).toMatch(/workerd serve/)
    expect(commands).toMatch(/serf agent -node=serf-edge-dev/)
    expect(commands).toMatch(/agent-bridge\/cli\.ts/)

    run.signalGroup('SIGINT')
    expect(await run.exited).toEqual({ code: 0, signal: null })
    expect(run.output).toMatch(/^bridge +│ lease released$/m)
    expect(run.output.indexOf('lease released')).toBeLessThan(run.output.indexOf('stopping edge'))
    const pids = tree.map((p) => p.pid)
    expect(await survivors(pids, tracked.pgids)).toEqual([])
  })

  it('without serf on PATH, keeps the edge up, says how to install Serf, and stops on SIGTERM', {
    timeout: 300_000,
  }, async () => {
    const port = await freePort()
    const rpcAddr = `127.0.0.1:${await freePort()}`
    // Only node on PATH; `node scripts/dev.ts` is what `npm start` execs.
    const env = cleanEnv({ PORT: String(port), SERF_RPC_ADDR: rpcAddr, PATH: NODE_DIR })
    // What `npm start` does before it execs scripts/dev.ts: the edge serves the page from page/dist.
    await sh(process.execPath, ['scripts/build-page.ts'], { cwd: dir, env })
    const run = new GroupRun(process.execPath, ['scripts/dev.ts'], { cwd: dir, env })
    const tracked = { run, pgids: [] as number[] }
    runs.push(tracked)
    await run.waitForOutput(/^Fire a first event/m)
    expect(run.output).toMatch(/no Serf agent answers at .*, and there is no serf on PATH/)
    expect(run.output).toContain('sudo apt-get install serf')
    expect(run.output).toContain('https://releases.hashicorp.com/serf/')
    expect(run.output).toMatch(/serf agent -node=serf-edge-dev -bind=127\.0\.0\.1:\d+ -rpc-addr=/)
    const command = printedCommand(run.output)
    expect(command).toBe('node --env-file=.serf-edge/dev.env client/cli.ts event deploy v1')
    const fired = await sh('/bin/sh', ['-c', command], { cwd: dir, env })
    expect(fired.stdout).toMatch(/Event 'deploy' queued at the edge/)

    const tree = await processTree(run.pgid)
    tracked.pgids = [...new Set(tree.map((p) => p.pgid))]
    process.kill(run.pgid, 'SIGTERM')
    expect(await run.exited).toEqual({ code: 0, signal: null })
    const pids = tree.map((p) => p.pid)
    expect(await survivors(pids, tracked.pgids)).toEqual([])
  })
})

describe('development keys are generated only where they are missing', () => {
  let keysDir: string
  beforeAll(async () => {
    keysDir = await mkdtemp(join(tmpdir(), 'serf-edge-dev-keys-'))
  })
  afterAll(() => rm(keysDir, { recursive: true, force: true }))

  it('creates .dev.vars when absent, then leaves it byte for byte as it is', async () => {
    const root = join(keysDir, 'fresh')
    await mkdir(root)
    const paths = devPaths(root)
    const first = await ensureDevKeys(paths)
    expect(first.devVars).toBe('created')
    const text = await readFile(paths.devVars, 'utf8')
    const vars = parseEnv(text)
    expect(vars.SENDER_KEYS_DEV).toBe(first.keys.senderKey)
    expect(vars.BRIDGE_KEYS_DEV).toBe(first.keys.bridgeKey)
    expect(first.keys.senderKey).toMatch(/^whsec_/)
    expect(first.keys.senderKey).not.toBe(first.keys.bridgeKey)
    // The development doors: their apps and the edge's side of their secrets.
    expect(JSON.parse(vars.SLACK_APPS!).dev.teams).toEqual(['T0DEV'])
    expect(Object.keys(JSON.parse(vars.OPERATORS!))).toEqual(['dev', 'dev-approver'])
    expect(vars.SLACK_SIGNING_SECRET_DEV).toBe(first.keys.doors.SLACK_SIGNING_SECRET)
    expect(vars.GITHUB_WEBHOOK_SECRET_DEV).toBe(first.keys.doors.GITHUB_WEBHOOK_SECRET)
    const seed = Buffer.from(first.keys.doors.DISCORD_PRIVATE_KEY, 'base64')
    expect(seed).toHaveLength(32)
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed])
    const publicKey = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }))
    expect(vars.DISCORD_PUBLIC_KEY_DEV).toBe(
      publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('hex'),
    )

    const second = await ensureDevKeys(paths)
    expect(second).toEqual({ keys: first.keys, devVars: 'unchanged', generated: [] })
    expect(await readFile(paths.devVars, 'utf8')).toBe(text)
  })

  it('uses the keys of an existing .dev.vars and only appends what it lacks', async () => {
    const root = join(keysDir, 'existing')
    await mkdir(root)
    const paths = devPaths(root)
    const mine = `whsec_${Buffer.alloc(32, 7).toString('base64')}`
    const before = `# my own\nSENDER_KEYS_DEV="${mine}"\nOTHER=1`
    await writeFile(paths.devVars, before)
    const result = await ensureDevKeys(paths)
    expect(result.devVars).toBe('appended')
    expect(result.generated).toEqual([
      'BRIDGE_KEYS_DEV',
      'SLACK_APPS',
      'DISCORD_APPS',
      'GITHUB_HOOKS',
      'OPERATORS',
      'SLACK_SIGNING_SECRET_DEV',
      'GITHUB_WEBHOOK_SECRET_DEV',
      'DISCORD_PUBLIC_KEY_DEV',
    ])
    expect(result.keys.senderKey).toBe(mine)
    const after = await readFile(paths.devVars, 'utf8')
    expect(after.startsWith(`${before}\n`)).toBe(true)
    expect(parseEnv(after).BRIDGE_KEYS_DEV).toBe(result.keys.bridgeKey)
  })

  it('refuses a Discord public key whose private key it does not have, naming the fix', async () => {
    const root = join(keysDir, 'discord')
    await mkdir(root)
    const paths = devPaths(root)
    const line = `DISCORD_PUBLIC_KEY_DEV=${'ab'.repeat(32)}\n`
    await writeFile(paths.devVars, line)
    await expect(ensureDevKeys(paths)).rejects.toThrow(/delete the DISCORD_PUBLIC_KEY_DEV line/)
    expect(await readFile(paths.devVars, 'utf8')).toBe(line)
  })

  it('refuses a .dev.vars key it cannot sign with, naming the fix', async () => {
    const root = join(keysDir, 'ed25519')
    await mkdir(root)
    const paths = devPaths(root)
    const publicKey = `whpk_${Buffer.alloc(32, 1).toString('base64')}`
    await writeFile(paths.devVars, `SENDER_KEYS_DEV=${publicKey}\n`)
    await expect(ensureDevKeys(paths)).rejects.toThrow(/SERF_EDGE_KEY in \.serf-edge\/dev\.env/)
    expect(await readFile(paths.devVars, 'utf8')).toBe(`SENDER_KEYS_DEV=${publicKey}\n`)
  })
})
