import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { parseFlags, UsageError } from '../../protocol/flags.ts'
import { generateHmacKey } from '../../protocol/signature.ts'
import { cli, edgeEnv } from './run-cli.ts'
import { accepted, type StubEdge, scripted, startStubEdge } from './stub-edge.ts'

const EVENT = { coalesce: 'boolean', wait: 'duration?', key: 'list', cluster: 'string' } as const

describe('flags are read the way serf reads them', () => {
  it('takes -coalesce=false, --coalesce false, and a bare -coalesce as true', () => {
    expect(parseFlags(['-coalesce=false', 'deploy'], EVENT)).toEqual({
      flags: { coalesce: false },
      positionals: ['deploy'],
    })
    expect(parseFlags(['--coalesce', 'false', 'deploy'], EVENT).flags.coalesce).toBe(false)
    expect(parseFlags(['-coalesce', 'deploy'], EVENT)).toEqual({
      flags: { coalesce: true },
      positionals: ['deploy'],
    })
    expect(parseFlags(['-coalesce=F', 'x'], EVENT).flags.coalesce).toBe(false)
  })

  it('takes -flag=value and -flag value, with one or two dashes', () => {
    for (const args of [['-cluster=prod'], ['-cluster', 'prod'], ['--cluster=prod'], ['--cluster', 'prod']]) {
      expect(parseFlags(args, EVENT).flags.cluster).toBe('prod')
    }
  })

  it('stops at the name, so a payload that looks like a flag stays a payload', () => {
    expect(parseFlags(['deploy', '-1'], EVENT).positionals).toEqual(['deploy', '-1'])
    expect(parseFlags(['--', '-deploy'], EVENT).positionals).toEqual(['-deploy'])
  })

  it('treats a lone - as the payload, not a flag', () => {
    expect(parseFlags(['-coalesce=false', 'deploy', '-'], EVENT).positionals).toEqual(['deploy', '-'])
  })

  it('reads -wait bare, -wait=30s, -wait 2m, and leaves a name after -wait alone', () => {
    expect(parseFlags(['-wait', 'deploy'], EVENT)).toEqual({
      flags: { wait: true },
      positionals: ['deploy'],
    })
    expect(parseFlags(['-wait=30s', 'deploy'], EVENT).flags.wait).toBe(30_000)
    expect(parseFlags(['-wait', '2m', 'deploy'], EVENT)).toEqual({
      flags: { wait: 120_000 },
      positionals: ['deploy'],
    })
    expect(parseFlags(['-wait=500ms'], EVENT).flags.wait).toBe(500)
    expect(parseFlags(['-wait=false', 'x'], EVENT).flags.wait).toBeUndefined()
  })

  it('collects a repeated list flag', () => {
    expect(parseFlags(['-key', 'a', '-key=b'], EVENT).flags.key).toEqual(['a', 'b'])
  })

  it('refuses an unknown flag, a missing value and a bad value', () => {
    expect(() => parseFlags(['-colesce=false'], EVENT)).toThrow(
      new UsageError('flag provided but not defined: -colesce'),
    )
    expect(() => parseFlags(['-cluster'], EVENT)).toThrow('flag needs an argument: -cluster')
    expect(() => parseFlags(['-coalesce=maybe'], EVENT)).toThrow('invalid boolean value "maybe" for -coalesce')
    expect(() => parseFlags(['-wait=soon'], EVENT)).toThrow('invalid value "soon" for -wait')
    expect(() => parseFlags(['-wait=0s'], EVENT)).toThrow('-wait must be longer than zero')
    expect(() => parseFlags(['---x'], EVENT)).toThrow('bad flag syntax: ---x')
  })
})

describe('serf-edge event, from arguments to request', () => {
  let edge: StubEdge
  const key = generateHmacKey().secret
  afterEach(() => edge?.close())

  it('sends name, payload and -coalesce=false as serf event would', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const run = await cli(['event', '-coalesce=false', 'deploy', 'v1.4.2'], {
      env: edgeEnv(edge.url, key),
    })
    expect(run.code).toBe(0)
    expect(JSON.parse(edge.requests[0].body)).toEqual({
      cluster: 'prod',
      name: 'deploy',
      payload: 'v1.4.2',
      coalesce: false,
    })
  })

  it('defaults -coalesce to true and sends no payload when none is given', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const run = await cli(['event', '--coalesce', 'true', 'restart'], {
      env: edgeEnv(edge.url, key),
    })
    expect(run.code).toBe(0)
    expect(JSON.parse(edge.requests[0].body)).toEqual({
      cluster: 'prod',
      name: 'restart',
      coalesce: true,
    })
  })

  it('reads the payload - from stdin as bytes, exactly', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    const bytes = Buffer.from([0xef, 0xbb, 0xbf, 0x00, 0xff, 0x0a, 0x41])
    const run = await cli(['event', 'upload', '-'], {
      env: edgeEnv(edge.url, key),
      stdin: Readable.from([bytes.subarray(0, 3), bytes.subarray(3)]),
    })
    expect(run.code).toBe(0)
    const body = JSON.parse(edge.requests[0].body)
    expect(body.payload).toBeUndefined()
    expect(Buffer.from(body.payloadBase64, 'base64')).toEqual(bytes)
  })
})

describe('usage mistakes exit 1 with a message that says what to do', () => {
  const key = generateHmacKey().secret

  it('names a bad flag and points at the help', async () => {
    const run = await cli(['event', '-colesce=false', 'deploy'], {
      env: edgeEnv('http://127.0.0.1:9', key),
    })
    expect(run).toMatchObject({ code: 1, stdout: '' })
    expect(run.stderr).toContain('flag provided but not defined: -colesce')
    expect(run.stderr).toContain("Run 'serf-edge event -h' for usage.")
  })

  it('asks for the event name', async () => {
    const run = await cli(['event'], { env: edgeEnv('http://127.0.0.1:9', key) })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('an event name must be specified')
  })

  it('says that flags go before the name', async () => {
    const run = await cli(['event', 'deploy', 'v2', '-coalesce=false'], {
      env: edgeEnv('http://127.0.0.1:9', key),
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('flags such as -coalesce=false go before the name')
  })

  it('names every missing setting with its flag, variable and config key', async () => {
    const run = await cli(['event', 'deploy'], { env: { SERF_EDGE_CLUSTER: 'prod' } })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('missing edge URL, sender id, signing key')
    expect(run.stderr).toMatch(/edge URL:\s+set -edge-url, SERF_EDGE_URL, or "edgeUrl" in .*config\.json/)
    expect(run.stderr).toMatch(/sender id:\s+set -sender, SERF_EDGE_SENDER, or "sender"/)
    expect(run.stderr).toMatch(/signing key:\s+set -key, SERF_EDGE_KEY, or "key" .*serf-edge keygen/)
    expect(run.stderr).not.toContain('cluster:')
  })

  it('names where a malformed key came from without printing it', async () => {
    const env = { ...edgeEnv('http://127.0.0.1:9', 'whsec_bm90IGEga2V5'), SERF_EDGE_SENDER: 'bot' }
    const run = await cli(['event', 'deploy'], { env })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('signing key from environment variable SERF_EDGE_KEY')
    expect(run.stderr).not.toContain('bm90IGEga2V5')
  })

  it('refuses a verify-only public key as a signing key', async () => {
    const run = await cli(['event', 'deploy'], {
      env: edgeEnv('http://127.0.0.1:9', `whpk_${'A'.repeat(43)}=`),
    })
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('a signing key must start with whsec_ (HMAC) or whsk_ (Ed25519 secret)')
  })

  it('refuses an unknown command and prints the help for none', async () => {
    expect((await cli(['fire', 'deploy'])).stderr).toContain('unknown command "fire"')
    const bare = await cli([])
    expect(bare.code).toBe(1)
    expect(bare.stderr).toContain('Usage: serf-edge <command>')
  })

  it('prints help modelled on serf event -h, with the exit codes, and exits 0', async () => {
    for (const argv of [
      ['event', '-h'],
      ['event', '--help'],
      ['help', 'event'],
    ]) {
      const run = await cli(argv)
      expect(run.code).toBe(0)
      expect(run.stdout).toContain('Usage: serf-edge event [options] name [payload]')
      expect(run.stdout).toContain('-coalesce=true/false')
      expect(run.stdout).toContain('6  edge unreachable')
    }
    expect((await cli(['--help'])).stdout).toContain('keygen')
  })
})
