/**
 * `npm run build`: the package's bins and the sender SDK as JavaScript. Node strips TypeScript types only outside
 * node_modules, so an installed `serf-edge` or `agent-bridge` must not be `.ts`. Each CLI is
 * bundled with our own modules into one file in dist/; its npm dependencies stay imports,
 * installed next to it from package.json. Runs before `npm pack` and `npm publish` (prepack).
 *
 * esbuild comes with wrangler (a devDependency); it is not a dependency of its own.
 */
import { chmod, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { build } from 'esbuild'

const root = resolve(import.meta.dirname, '..')

/** dist/<bin>.js ← source, as package.json's "bin" names them. */
const BINS = {
  'serf-edge': 'client/cli.ts',
  'agent-bridge': 'agent-bridge/cli.ts',
}

/** The sender SDK for bots: `import { fireEvent } from 'serf-edge/client'`. */
await build({
  entryPoints: [join(root, 'client/index.ts')],
  outfile: join(root, 'dist', 'client.js'),
  bundle: true,
  packages: 'external',
  platform: 'neutral',
  format: 'esm',
  target: 'es2022',
  logLevel: 'warning',
})
process.stderr.write('dist/client.js ← client/index.ts\n')

for (const [bin, source] of Object.entries(BINS)) {
  const entry = join(root, source)
  // esbuild keeps an entry's own #! line; the others get one.
  const hasHashbang = (await readFile(entry, 'utf8')).startsWith('#!')
  const outfile = join(root, 'dist', `${bin}.js`)
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node22',
    banner: hasHashbang ? undefined : { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  })
  await chmod(outfile, 0o755)
  process.stderr.write(`dist/${bin}.js ← ${source}\n`)
}
