/**
 * `npm run build:page`: the on-call page as the Worker serves it, page/dist/app/ (the Worker's
 * static assets; `/app/*`). page/static/ is copied as it is; page/src/main.ts is bundled into
 * app.js and page/src/sw.ts into sw.js, whose SHELL_VERSION is a hash of every other file, so a
 * changed page installs a new offline shell. Fast enough to run before every `npm start` and
 * `npm test`; page/dist/ is not committed.
 *
 * Files are replaced one by one (write, then rename) and only then are leftovers removed, so a
 * `wrangler dev` already serving page/dist never finds the folder missing.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { type BuildOptions, build, type Plugin } from 'esbuild'

const root = resolve(import.meta.dirname, '..')
const out = join(root, 'page/dist/app')
const started = performance.now()

/**
 * zod's `z` re-exports every locale's messages (`z.locales`), which no bundler can drop from a
 * namespace object: 260 KB of the page's script. The page uses English only (zod's default).
 */
const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, ({ importer }) =>
      importer.includes('/node_modules/zod/') ? { path: 'en', namespace: 'zod-locales' } : undefined,
    )
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js'",
      resolveDir: root,
    }))
  },
}

async function bundle(entry: string, options: BuildOptions): Promise<Uint8Array> {
  const result = await build({
    entryPoints: [join(root, entry)],
    bundle: true,
    minify: true,
    write: false,
    // Safari 16 and Chrome 109 on phones: passkeys need them anyway.
    target: ['es2022', 'safari16', 'chrome109'],
    legalComments: 'none',
    logLevel: 'warning',
    ...options,
  })
  return result.outputFiles![0]!.contents
}

/** Relative path under page/dist/app → contents. */
const files = new Map<string, Uint8Array>()
const staticDir = join(root, 'page/static')
for (const entry of await readdir(staticDir, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile()) continue
  const path = join(entry.parentPath, entry.name)
  files.set(relative(staticDir, path), await readFile(path))
}
files.set('app.js', await bundle('page/src/main.ts', { format: 'esm', plugins: [zodEnglishOnly] }))

const hash = createHash('sha256')
for (const [path, contents] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
  hash.update(path).update('\0').update(contents).update('\0')
}
const version = hash.digest('hex').slice(0, 16)
files.set(
  'sw.js',
  // A classic script: module service workers came late to Safari.
  await bundle('page/src/sw.ts', { format: 'iife', define: { SHELL_VERSION: JSON.stringify(version) } }),
)

for (const [path, contents] of files) {
  const target = join(out, path)
  await mkdir(dirname(target), { recursive: true })
  await writeFile(`${target}.${process.pid}.tmp`, contents)
  await rename(`${target}.${process.pid}.tmp`, target)
}
for (const entry of await readdir(out, { recursive: true, withFileTypes: true })) {
  const path = join(entry.parentPath, entry.name)
  if (entry.isFile() && !files.has(relative(out, path))) await rm(path)
}

const elapsed = Math.round(performance.now() - started)
process.stderr.write(`page/dist/app/ ← page/src, page/static (shell ${version}, ${elapsed} ms)\n`)
