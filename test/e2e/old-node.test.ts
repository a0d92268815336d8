/**
 * On a Node older than package.json's `engines.node`, `npm start`, `npm test` and both installed
 * bins say which Node they need, which one is running and how to get the right one, and exit 1:
 * no `ERR_UNKNOWN_FILE_EXTENSION`, no stack trace. Run for real with an old Node binary:
 * SERF_EDGE_OLD_NODE, or /usr/bin/node; skipped when that is missing or not old.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GroupRun } from '../helpers/npm-start.ts'
import { installPackedPackage, type PackedPackage, ROOT } from './packed-package.ts'

const run = promisify(execFile)
const OLD_NODE = process.env.SERF_EDGE_OLD_NODE ?? '/usr/bin/node'
const ENGINES = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
  .engines.node
const [, major, minor] = /^>=(\d+)\.(\d+)/.exec(ENGINES)!
/** The old Node's version, when there is one older than engines.node. */
const oldVersion = await run(OLD_NODE, ['-p', 'process.versions.node']).then(
  ({ stdout }) => {
    const [oldMajor, oldMinor] = stdout.trim().split('.').map(Number) as [number, number]
    const old = oldMajor < Number(major) || (oldMajor === Number(major) && oldMinor < Number(minor))
    return old ? stdout.trim() : undefined
  },
  () => undefined,
)
/** Everything as a user of the old Node has it: its directory first on PATH. */
const oldEnv = { ...process.env, PATH: `${dirname(OLD_NODE)}:${process.env.PATH}` }

/** What every refusal says, and what it must not show. */
function expectRefusal(result: { code: number | null; output: string }): void {
  expect(result.output).toContain(`serf-edge needs Node.js ${ENGINES}; this is Node.js ${oldVersion} (${OLD_NODE}).`)
  expect(result.output).toContain(`  nvm install ${major}\n`)
  expect(result.output).toContain(`  npm install --prefix "$HOME/.node${major}" node@${major}\n`)
  expect(result.output).toContain(`  export PATH="$HOME/.node${major}/node_modules/.bin:$PATH"\n`)
  expect(result.output).not.toMatch(/ERR_UNKNOWN_FILE_EXTENSION|^\s+at /m)
  expect(result.code).toBe(1)
}

/** Run `command`, its output interleaved; one that hangs is killed with its process group. */
async function runOld(command: string, args: string[], cwd: string) {
  const child = new GroupRun(command, args, { cwd, env: oldEnv })
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => {
    timer = setTimeout(() => resolve('hung'), 60_000)
  })
  const exited = await Promise.race([child.exited, hung]).finally(() => clearTimeout(timer))
  if (exited === 'hung') {
    child.signalGroup('SIGKILL')
    await child.exited
    throw new Error(`${command} ${args.join(' ')} still ran after 60 s on Node ${oldVersion}:\n${child.output}`)
  }
  return { code: exited.code, output: child.output }
}

describe.skipIf(!oldVersion)(`on Node older than ${ENGINES} (${OLD_NODE})`, () => {
  let installed: PackedPackage
  beforeAll(async () => {
    installed = await installPackedPackage()
  }, 120_000)
  afterAll(() => installed?.remove())

  it.each(['start', 'test'])('npm %s says which Node it needs and exits 1', async (script) => {
    expectRefusal(await runOld('npm', [script], join(installed.dir, 'repo')))
  })

  it.each([
    ['serf-edge', '-h'],
    ['agent-bridge', '-help'],
  ])('the installed %s says which Node it needs and exits 1', async (bin, help) => {
    const { app, pkg, manifest } = installed
    expectRefusal(await runOld(OLD_NODE, [join(pkg, manifest.bin[bin]!), help], app))
    expectRefusal(await runOld(join(installed.bin, bin), [help], app))
  })
})
