/** README's shell recipes, cut out of README.md so tests run exactly what readers copy. */
import { readFile, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

/**
 * Write the recipe under `<!-- recipe:NAME -->` in README.md to `dir/NAME.sh`; returns its path.
 * @throws {Error} when README.md has no such block
 */
export async function readmeRecipe(name: string, dir: string): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8')
  const match = new RegExp(`<!-- recipe:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme)
  if (!match) throw new Error(`README.md has no recipe block "${name}"`)
  const file = join(dir, `${name}.sh`)
  await writeFile(file, match[1]!)
  return file
}
