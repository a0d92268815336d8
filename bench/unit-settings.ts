/**
 * The bridge as deploy/agent-bridge.service runs it: the installed bin (dist/agent-bridge.js,
 * built by `npm run bench`) with the unit's NODE_OPTIONS and MALLOC_ARENA_MAX, read from the unit
 * file so the bench's figures follow it. Node's TypeScript stripper alone would add about 15 MiB
 * to the footprint of figure 4 (docs/BENCHMARKS.md, section 7).
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const UNIT = resolve(import.meta.dirname, '../deploy/agent-bridge.service')

/** What `startBridge` needs to run the bridge as the unit does. */
export interface UnitBridge {
  entry: string
  nodeArgs: string[]
  env: Record<string, string>
}

/** The unit's `Environment=` settings that shape the process: NODE_OPTIONS and MALLOC_*. */
export function unitBridge(unitText = readFileSync(UNIT, 'utf8')): UnitBridge {
  const env: Record<string, string> = {}
  for (const line of unitText.split('\n')) {
    const match = /^Environment=(?:"([^"]*)"|(\S+))\s*$/.exec(line.trim())
    const pair = match?.[1] ?? match?.[2]
    const eq = pair?.indexOf('=') ?? -1
    if (!pair || eq < 1) continue
    const name = pair.slice(0, eq)
    if (name === 'NODE_OPTIONS' || name.startsWith('MALLOC_')) env[name] = pair.slice(eq + 1)
  }
  const { NODE_OPTIONS = '', ...rest } = env
  return { entry: 'dist/agent-bridge.js', nodeArgs: NODE_OPTIONS.split(/\s+/).filter(Boolean), env: rest }
}
