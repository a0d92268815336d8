/**
 * The published package's bins run where npm installs them: inside node_modules, where Node
 * strips no TypeScript. Packed and installed as test/e2e/packed-package.ts describes, run through
 * node_modules/.bin.
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeEnv as env, installPackedPackage, type PackedPackage } from './packed-package.ts'

const run = promisify(execFile)

let installed: PackedPackage
let app: string
let bin: string
let packed: PackedPackage['packed']

beforeAll(async () => {
  installed = await installPackedPackage()
  ;({ app, bin, packed } = installed)
}, 120_000)

afterAll(() => installed?.remove())

describe('npm pack ships both CLIs as JavaScript', () => {
  it('packs the built bins, executable, and no TypeScript source', () => {
    const files = Object.fromEntries(packed.files.map((file) => [file.path, file.mode]))
    expect(files['dist/serf-edge.js']! & 0o111).toBe(0o111)
    expect(files['dist/agent-bridge.js']! & 0o111).toBe(0o111)
    expect(Object.keys(files).filter((path) => /(?<!\.d)\.ts$/.test(path))).toEqual([])
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
    const probe = join(app, 'probe.mjs')
    await writeFile(
      probe,
      "const sdk = await import('serf-edge/client'); console.log(Object.keys(sdk).filter((k) => typeof sdk[k] === 'function').sort().join(' '))\n",
    )
    const { stdout } = await run(process.execPath, [probe], { env, cwd: app })
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
