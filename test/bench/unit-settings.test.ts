/** The bench runs the bridge with the systemd unit's settings, read from the unit file. */
import { describe, expect, it } from 'vitest'
import { unitBridge } from '../../bench/unit-settings.ts'

describe('unitBridge', () => {
  it("reads deploy/agent-bridge.service's NODE_OPTIONS and MALLOC_ARENA_MAX", () => {
    const unit = unitBridge()
    expect(unit.entry).toBe('dist/agent-bridge.js')
    expect(unit.nodeArgs).toContain('--max-semi-space-size=1')
    expect(unit.env).toEqual({ MALLOC_ARENA_MAX: '2' })
  })

  it('takes quoted and bare Environment= lines, and nothing else', () => {
    const unit = unitBridge(
      [
        '# Environment="NODE_OPTIONS=--commented"',
        'Environment="NODE_OPTIONS=--a=1  --b"',
        'Environment=MALLOC_ARENA_MAX=4',
        'Environment=SERF_EDGE_BRIDGE_KEY_FILE=%d/bridge-key',
      ].join('\n'),
    )
    expect(unit).toEqual({ entry: 'dist/agent-bridge.js', nodeArgs: ['--a=1', '--b'], env: { MALLOC_ARENA_MAX: '4' } })
  })
})
