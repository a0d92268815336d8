/**
 * The published package's bins run where npm installs them: inside node_modules, where Node
 * strips no TypeScript. Packed with `npm pack` (which builds through prepack) from a fresh copy
 * of the repository, unpacked as npm would lay it out, run through node_modules/.bin.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyWorkingTree } from '../helpers/npm-start.ts'

const run = promisify(execFile)
const ROOT = resolve(import.meta.dirname, '../..')
const env = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }

let dir: string
let bin: string
let packed: { filename: string; files: { path: string; mode: number }[] }

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'serf-edge-pack-'))
  const repo = join(dir, 'repo')
  await mkdir(repo)
  await copyWorkingTree(repo)
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
    cwd: repo,
    env,
  })
  packed = (JSON.parse(stdout) as (typeof packed)[])[0]!
  const tarball = join(dir, packed.filename)

  // The layout `npm install serf-edge` makes: the package, its dependencies beside it, .bin links.
  const modules = join(dir, 'app', 'node_modules')
  const pkg = join(modules, 'serf-edge')
  await mkdir(pkg, { recursive: true })
  await run('tar', ['-xzf', tarball, '-C', pkg, '--strip-components=1'])
  for (const dep of ['@msgpack', 'pino', 'prom-client', 'zod']) {
    await symlink(join(ROOT, 'node_modules', dep), join(modules, dep))
  }
  bin = join(modules, '.bin')
  await mkdir(bin)
  await symlink('../serf-edge/dist/serf-edge.js', join(bin, 'serf-edge'))
  await symlink('../serf-edge/dist/agent-bridge.js', join(bin, 'agent-bridge'))
}, 120_000)

afterAll(() => rm(dir, { recursive: true, force: true }))

describe('npm pack ships both CLIs as JavaScript', () => {
  it('packs the built bins, executable, and no TypeScript', () => {
    const files = Object.fromEntries(packed.files.map((file) => [file.path, file.mode]))
    expect(files['dist/serf-edge.js']! & 0o111).toBe(0o111)
    expect(files['dist/agent-bridge.js']! & 0o111).toBe(0o111)
    expect(Object.keys(files).filter((path) => path.endsWith('.ts'))).toEqual([])
  })

  it('serf-edge runs from node_modules/.bin', async () => {
    const help = await run(join(bin, 'serf-edge'), ['-h'], { env })
    expect(help.stdout).toMatch(/^Usage: serf-edge <command>/)
    const keygen = await run(join(bin, 'serf-edge'), ['keygen', '-type', 'hmac', '-sender', 'ci', '-json'], { env })
    expect(JSON.parse(keygen.stdout)).toMatchObject({
      type: 'hmac',
      sender: 'ci',
      secretName: 'SENDER_KEYS_CI',
    })
  })

  it("the SDK imports as 'serf-edge/client' from an installed package", async () => {
    const probe = join(dir, 'app', 'probe.mjs')
    await writeFile(
      probe,
      "const sdk = await import('serf-edge/client'); console.log(Object.keys(sdk).filter((k) => typeof sdk[k] === 'function').sort().join(' '))\n",
    )
    const { stdout } = await run(process.execPath, [probe], { env, cwd: join(dir, 'app') })
    expect(stdout.trim().split(' ')).toEqual(expect.arrayContaining(['fireEvent', 'getEventStatus', 'waitForEvent']))
  })

  it('agent-bridge runs from node_modules/.bin', async () => {
    const help = await run(join(bin, 'agent-bridge'), ['-help'], { env })
    expect(help.stdout).toMatch(/^Usage: agent-bridge/)
    const bare = await run(join(bin, 'agent-bridge'), [], { env: { PATH: env.PATH } }).catch(
      (error: { code: number; stderr: string }) => error,
    )
    expect(bare).toMatchObject({ code: 1, stderr: expect.stringMatching(/-edge-url is required/) })
  })
})
