/**
 * `npm run build`: the package's bins and the sender SDK as JavaScript, and the SDK's type
 * declarations. Node strips TypeScript types only outside node_modules, so an installed
 * `serf-edge` or `agent-bridge` must not be `.ts`. Our own modules are bundled into dist/; npm
 * dependencies stay imports, installed next to it from package.json. Runs before `npm pack` and
 * `npm publish` (prepack).
 *
 * esbuild comes with wrangler (a devDependency); it is not a dependency of its own.
 */
import { execFileSync } from 'node:child_process'
import { chmod, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')
const dist = join(root, 'dist')

/** dist/<bin>.js ← its entry, as package.json's "bin" names them. */
const BINS = {
  'serf-edge': 'scripts/bin/serf-edge.ts',
  'agent-bridge': 'scripts/bin/agent-bridge.ts',
}

// Whatever dist/ holds is published ("files"), so nothing from an earlier build may stay.
await rm(dist, { recursive: true, force: true })

/** The sender SDK for bots: `import { fireEvent } from 'serf-edge/client'`. */
await build({
  entryPoints: [join(root, 'client/index.ts')],
  outfile: join(dist, 'client.js'),
  bundle: true,
  packages: 'external',
  platform: 'neutral',
  format: 'esm',
  target: 'es2022',
  logLevel: 'warning',
})
process.stderr.write('dist/client.js ← client/index.ts\n')

/*
 * Its declarations, for package.json's exports["./client"].types: tsc's own output, one .d.ts per
 * module reachable from client/index.ts. Their relative imports keep the `.ts` of the sources,
 * which TypeScript 5 resolves in a declaration file without allowImportingTsExtensions
 * (test/e2e/package-manifest.test.ts checks a consumer); older TypeScript is out anyway, as the
 * declarations expose zod's types and zod 4 needs TypeScript ≥ 5.5.
 */
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.declarations.json')], { stdio: 'inherit' })
process.stderr.write('dist/types/client/index.d.ts ← client/index.ts\n')

/*
 * Each bin entry checks the Node version (scripts/require-node.mjs, inlined) and only then
 * imports its CLI, which code splitting puts in a chunk of its own under dist/<bin>/: on an old
 * Node the check runs before Node loads a single dependency. One build per bin keeps the check in
 * the entry file itself, one directory below package.json, where require-node.mjs reads it.
 */
for (const [bin, source] of Object.entries(BINS)) {
  await build({
    entryPoints: { [bin]: join(root, source) },
    outdir: dist,
    chunkNames: `${bin}/[name]-[hash]`,
    splitting: true,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    logLevel: 'warning',
  })
  await chmod(join(dist, `${bin}.js`), 0o755)
  process.stderr.write(`dist/${bin}.js ← ${source}\n`)
}
