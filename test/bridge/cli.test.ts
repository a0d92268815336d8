/** agent-bridge's command line: flags over environment over defaults, and clear refusals. */
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { resolveConfig } from '../../agent-bridge/cli.ts'
import { MAX_POLL_WAIT_MS } from '../../protocol/wire.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const run = promisify(execFile)
const required = { SERF_EDGE_URL: 'https://edge.example', SERF_EDGE_CLUSTER: 'prod', SERF_EDGE_BRIDGE_KEY: 'whsec_x' }

describe('agent-bridge configuration', () => {
  it('defaults follow serf event: 127.0.0.1:7373 and no token', async () => {
    const config = await resolveConfig([], required)
    expect(config).toMatchObject({
      edgeUrl: 'https://edge.example',
      cluster: 'prod',
      bridgeKeys: ['whsec_x'],
      rpcAddr: '127.0.0.1:7373',
      rpcAuth: '',
      cursorFile: join('.', 'serf-edge-prod.cursor.json'),
      batchSize: 256,
      gossipProfile: 'lan',
      maxRate: null,
      maxEventQueue: 32,
      pollWaitMs: MAX_POLL_WAIT_MS,
      metricsAddr: '127.0.0.1:9464',
    })
  })

  it('reads SERF_RPC_ADDR, SERF_RPC_AUTH and $STATE_DIRECTORY; flags win over the environment', async () => {
    const env = {
      ...required,
      SERF_RPC_ADDR: '10.0.0.5:7373',
      SERF_RPC_AUTH: 'secret',
      STATE_DIRECTORY: '/var/lib/serf-edge',
    }
    expect(await resolveConfig([], env)).toMatchObject({
      rpcAddr: '10.0.0.5:7373',
      rpcAuth: 'secret',
      cursorFile: '/var/lib/serf-edge/serf-edge-prod.cursor.json',
    })
    const flagged = await resolveConfig(
      ['-rpc-addr=127.0.0.1:7000', '--rpc-auth', 'other', '-max-rate=0', '-poll-wait=5s'],
      env,
    )
    expect(flagged).toMatchObject({ rpcAddr: '127.0.0.1:7000', rpcAuth: 'other', maxRate: 0, pollWaitMs: 5_000 })
  })

  it("paces for Serf's default lan profile unless told the agents' profile; -max-rate replaces the pace", async () => {
    expect(await resolveConfig([], { ...required, SERF_EDGE_GOSSIP_PROFILE: 'wan' })).toMatchObject({
      gossipProfile: 'wan',
      maxRate: null,
    })
    expect(
      await resolveConfig(['-gossip-profile=local', '-max-rate=2.5'], {
        ...required,
        SERF_EDGE_GOSSIP_PROFILE: 'wan',
        SERF_EDGE_MAX_RATE: '40',
      }),
    ).toMatchObject({ gossipProfile: 'local', maxRate: 2.5 })
    expect(await resolveConfig([], { ...required, SERF_EDGE_MAX_RATE: '40' })).toMatchObject({ maxRate: 40 })
  })

  it.each([
    [[], {}, /-edge-url is required/],
    [['-gossip-profile=fast'], required, /-gossip-profile must be one of lan, wan, local, got "fast"/],
    [['-max-rate=-1'], required, /-max-rate must be a number of events per second from 0 to 1000000/],
    [['-max-rate=ten'], required, /-max-rate must be a number/],
    [['-edge-url=ftp://x'], required, /must be an http\(s\) URL/],
    [['-cluster=Prod!'], required, /not a cluster id/],
    [['-batch-size=5000'], required, /-batch-size must be a whole number from 1 to 1000/],
    [['-poll-wait=10'], required, /-poll-wait: "10" is not a duration/],
    [['-bogus'], required, /bogus/],
    [['extra'], required, /unexpected argument "extra"/],
  ])('%j is refused with a message naming the setting', async (argv, env, message) => {
    await expect(resolveConfig(argv as string[], env as Record<string, string>)).rejects.toThrow(message)
  })

  it('-help documents every flag; a bad flag exits 1 with a hint', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'agent-bridge/cli.ts'), '-help'])
    for (const flag of [
      '-edge-url',
      '-cluster',
      '-bridge-key',
      '-rpc-addr',
      '-rpc-auth',
      '-cursor-file',
      '-gossip-profile',
      '-max-rate',
      '-metrics-addr',
    ]) {
      expect(stdout).toContain(flag)
    }
    const failed = await run(process.execPath, [join(ROOT, 'agent-bridge/cli.ts'), '-nope'], {
      env: { ...process.env, ...required },
    }).catch((e) => e)
    expect(failed.code).toBe(1)
    expect(failed.stderr).toMatch(/nope[\s\S]*agent-bridge -help/)
  })
})
