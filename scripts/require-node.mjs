/**
 * Stop on a Node older than package.json's `engines.node`, before Node meets anything it cannot
 * load (a `.ts` source, a newer API): one message saying which Node is needed, which one is
 * running and how to get the right one, then exit code 1, no stack trace.
 *
 * `npm start` and `npm test` run it first; scripts/build.ts puts it at the top of each bin. It
 * exists to run on the wrong Node, so it is plain JavaScript that Node 14 parses, and it imports
 * nothing but `node:fs`. package.json is one directory up from here, and from dist/, where the bins
 * carry a copy of this code.
 */
import { readFileSync } from 'node:fs'

const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const range = packageJson.engines?.node
// The only range form we use: `>=major[.minor[.patch]]`.
const minimum = /^>=\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(String(range).trim())

if (!minimum) {
  process.stderr.write(
    `${packageJson.name}: package.json engines.node must read ">=major.minor", not ${JSON.stringify(range)}\n`,
  )
  process.exit(1)
}

const wanted = minimum.slice(1, 4).map((part) => Number(part || 0))
const running = process.versions.node.split('.').map(Number)
const order = running[0] - wanted[0] || running[1] - wanted[1] || running[2] - wanted[2]

if (order < 0) {
  const major = wanted[0]
  process.stderr.write(
    [
      `${packageJson.name} needs Node.js ${range}; this is Node.js ${process.versions.node} (${process.execPath}).`,
      `Install Node.js ${major} and put it first on PATH, for example with nvm:`,
      `  nvm install ${major}`,
      'or from the npm registry, with the npm you have:',
      `  npm install --prefix "$HOME/.node${major}" node@${major}`,
      `  export PATH="$HOME/.node${major}/node_modules/.bin:$PATH"`,
      '',
    ].join('\n'),
  )
  process.exit(1)
}
