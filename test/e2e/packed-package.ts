/**
 * The published package as `npm install serf-edge` lays it out: packed with `npm pack` (which
 * builds through prepack) from a fresh copy of the repository, unpacked into an app's
 * node_modules, its package.json `dependencies` beside it (linked from this checkout's
 * node_modules, in place of the registry) and its bins linked in node_modules/.bin. Nothing
 * else of the repository's node_modules is reachable from the app, so a dependency missing from
 * package.json shows as a failure to load it.
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { promisify } from 'node:util'
import { copyWorkingTree } from '../helpers/npm-start.ts'

const run = promisify(execFile)
export const ROOT = resolve(import.meta.dirname, '../..')
/** The test's own Node first on PATH, for npm and for the bins' `#!/usr/bin/env node`. */
export const nodeEnv = { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` }

export interface PackedPackage {
  /** The temporary directory holding everything below; `remove()` deletes it. */
  dir: string
  /** `npm pack --json`'s report: the tarball's name and every file in it. */
  packed: { filename: string; files: { path: string; mode: number }[] }
  /** The app that installed the package: a package.json of its own and node_modules. */
  app: string
  /** app/node_modules/serf-edge */
  pkg: string
  /** app/node_modules/.bin */
  bin: string
  /** The packed package.json. */
  manifest: { dependencies?: Record<string, string>; bin: Record<string, string>; engines: { node: string } }
  remove(): Promise<void>
}

/** Pack the working tree and install the tarball into a new app in a temporary directory. */
export async function installPackedPackage(): Promise<PackedPackage> {
  const dir = await mkdtemp(join(tmpdir(), 'serf-edge-pack-'))
  const remove = () => rm(dir, { recursive: true, force: true })
  try {
    const repo = join(dir, 'repo')
    await mkdir(repo)
    await copyWorkingTree(repo)
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: repo, env: nodeEnv })
    const packed = (JSON.parse(stdout) as PackedPackage['packed'][])[0]!

    const app = join(dir, 'app')
    const modules = join(app, 'node_modules')
    const pkg = join(modules, 'serf-edge')
    await mkdir(pkg, { recursive: true })
    await writeFile(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, type: 'module' })}\n`)
    await run('tar', ['-xzf', join(dir, packed.filename), '-C', pkg, '--strip-components=1'])
    const manifest = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as PackedPackage['manifest']
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      await mkdir(dirname(join(modules, dependency)), { recursive: true })
      await symlink(join(ROOT, 'node_modules', dependency), join(modules, dependency))
    }
    const bin = join(modules, '.bin')
    await mkdir(bin)
    for (const [name, target] of Object.entries(manifest.bin)) {
      await symlink(relative(bin, join(pkg, target)), join(bin, name))
    }
    return { dir, packed, app, pkg, bin, manifest, remove }
  } catch (error) {
    await remove()
    throw error
  }
}
