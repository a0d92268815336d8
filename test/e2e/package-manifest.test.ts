/**
 * What the published package.json promises an installed package holds: `serf-edge/client` comes
 * with type declarations a TypeScript consumer resolves, and `dependencies` are exactly the
 * packages dist/ imports. Packed and installed as test/e2e/packed-package.ts describes.
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { isBuiltin } from 'node:module'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nodeEnv as env, installPackedPackage, type PackedPackage, ROOT } from './packed-package.ts'

const run = promisify(execFile)
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

/** A bot's use of the SDK, typed; each `@ts-expect-error` fails the check if a type is `any`. */
const CONSUMER = `import {
  EdgeProblemError,
  type EventStatus,
  type FireEventOptions,
  fireEvent,
  waitForEvent,
} from 'serf-edge/client'

const edge = { edgeUrl: 'https://serf-edge.example.com', cluster: 'staging', sender: 'ci', key: 'whsec_x' }
const deploy: FireEventOptions = { ...edge, name: 'deploy', payload: 'v1.4.2', coalesce: false }

export async function deployed(): Promise<'queued' | 'delivered' | 'rejected' | 'expired'> {
  try {
    const accepted = await fireEvent(deploy)
    const final: EventStatus = await waitForEvent({ ...edge, id: accepted.id, timeoutMs: 60_000 })
    return final.status
  } catch (error) {
    if (error instanceof EdgeProblemError) console.error(error.status, error.type, error.detail)
    throw error
  }
}

// @ts-expect-error coalesce is a boolean, as in serf event -coalesce
export const wrongOption: FireEventOptions = { ...deploy, coalesce: 'yes' }
// @ts-expect-error an event needs a name
export const unnamed = () => fireEvent(edge)
// @ts-expect-error a status is one of four states
export const unknownState = (status: EventStatus): boolean => status.status === 'lost'
`

/**
 * Consumers' compiler options: strict, Node's types from @types/node and no DOM library. Two
 * check the package's declarations too (no skipLibCheck); one is set up as @tsconfig/node22 sets
 * a Node project up.
 */
const CONSUMERS: Record<string, object> = {
  bundler: { module: 'preserve', moduleResolution: 'bundler', lib: ['ES2023'], skipLibCheck: false },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext', lib: ['ES2023'], skipLibCheck: false },
  'nodenext, as @tsconfig/node22': {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['ES2024'],
    skipLibCheck: true,
  },
}

let installed: PackedPackage
const tsconfigFile = (consumer: string) => `tsconfig.${consumer.replace(/\W+/g, '-')}.json`

beforeAll(async () => {
  installed = await installPackedPackage()
  const { app } = installed
  // The consumer's own devDependency: a Node bot types its globals (fetch, AbortSignal) with @types/node.
  await mkdir(join(app, 'node_modules', '@types'))
  await symlink(join(ROOT, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'))
  await writeFile(join(app, 'consumer.ts'), CONSUMER)
  for (const [name, options] of Object.entries(CONSUMERS)) {
    const compilerOptions = { target: 'ES2023', types: ['node'], strict: true, noEmit: true, ...options }
    await writeFile(join(app, tsconfigFile(name)), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }))
  }
}, 120_000)

afterAll(() => installed?.remove())

describe("'serf-edge/client' ships type declarations", () => {
  it.each(Object.keys(CONSUMERS))('a consumer type-checks with moduleResolution %s', async (name) => {
    const { app, pkg } = installed
    const checked = await run(process.execPath, [TSC, '-p', tsconfigFile(name), '--listFiles'], { cwd: app, env }).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: { code: number; stdout: string }) => error,
    )
    // tsc prints its errors, then (--listFiles) every file it read, all on stdout.
    const lines = checked.stdout.split('\n')
    expect(lines.filter((line) => line.includes('error TS'))).toEqual([])
    expect(checked.code).toBe(0)
    expect(lines).toContain(join(pkg, 'dist/types/client/index.d.ts'))
  })
})

describe('runtime dependencies are exactly what dist/ imports', () => {
  it('package.json dependencies name every package dist/*.js imports, and no other', async () => {
    const { pkg, manifest } = installed
    const dist = join(pkg, 'dist')
    const scripts = (await readdir(dist, { recursive: true })).filter((file) => file.endsWith('.js'))
    // esbuild parses the built files and reports each import, static or dynamic; npm packages stay unresolved.
    const { metafile } = await build({
      entryPoints: scripts.map((file) => join(dist, file)),
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      metafile: true,
      write: false,
      outdir: join(installed.dir, 'parsed'),
      logLevel: 'silent',
    })
    const imported = new Set<string>()
    for (const input of Object.values(metafile.inputs)) {
      for (const { path, external } of input.imports) {
        if (!external || isBuiltin(path)) continue
        imported.add(path.split('/', path.startsWith('@') ? 2 : 1).join('/'))
      }
    }
    // Packages loaded through a createRequire() function (the bridge's metrics load prom-client's
    // modules one by one): esbuild does not follow those, so read their literal specifiers.
    for (const file of scripts) {
      const text = await readFile(join(dist, file), 'utf8')
      for (const [, specifier] of text.matchAll(/\brequire\w*\(\s*["']([^"'./][^"']*)["']\s*\)/g)) {
        if (!isBuiltin(specifier!)) imported.add(specifier!.split('/', specifier!.startsWith('@') ? 2 : 1).join('/'))
      }
    }
    expect(scripts).toEqual(expect.arrayContaining(['client.js', 'serf-edge.js', 'agent-bridge.js']))
    expect([...imported].sort()).toEqual(Object.keys(manifest.dependencies ?? {}).sort())
  })
})
