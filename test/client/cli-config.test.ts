import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { defaultConfigPath, resolveEdgeSettings } from '../../client/cli-config.ts'
import { generateHmacKey } from '../../protocol/signature.ts'
import { cli } from './run-cli.ts'
import { accepted, type StubEdge, scripted, startStubEdge } from './stub-edge.ts'

let dir: string
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'serf-edge-config-'))
})
afterEach(() => rmSync(dir, { recursive: true, force: true }))

function writeConfig(path: string, config: unknown): string {
  mkdirSync(join(path, '..'), { recursive: true })
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config))
  return path
}

describe('where the config file is', () => {
  it('is $XDG_CONFIG_HOME/serf-edge/config.json, else ~/.config/serf-edge/config.json', () => {
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/home/me' })).toBe('/xdg/serf-edge/config.json')
    expect(defaultConfigPath({ HOME: '/home/me' })).toBe('/home/me/.config/serf-edge/config.json')
    // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
    expect(defaultConfigPath({ XDG_CONFIG_HOME: 'rel', HOME: '/home/me' })).toBe(
      '/home/me/.config/serf-edge/config.json',
    )
  })
})

describe('a flag wins over the environment, which wins over the config file', () => {
  it('takes each setting from the strongest source that has it', async () => {
    writeConfig(join(dir, 'serf-edge', 'config.json'), {
      edgeUrl: 'https://file.example',
      cluster: 'from-file',
      sender: 'file-bot',
      key: ['whsec_file1', 'whsec_file2'],
    })
    const settings = await resolveEdgeSettings(
      { cluster: 'from-flag' },
      { XDG_CONFIG_HOME: dir, SERF_EDGE_CLUSTER: 'from-env', SERF_EDGE_SENDER: 'env-bot' },
    )
    expect(settings.values).toEqual({
      edgeUrl: 'https://file.example',
      cluster: 'from-flag',
      sender: 'env-bot',
      key: ['whsec_file1', 'whsec_file2'],
    })
    expect(settings.sources).toEqual({
      edgeUrl: `"edgeUrl" in ${join(dir, 'serf-edge', 'config.json')}`,
      cluster: 'flag -cluster',
      sender: 'environment variable SERF_EDGE_SENDER',
      key: `"key" in ${join(dir, 'serf-edge', 'config.json')}`,
    })
  })

  it('splits several keys given in one variable or repeated flags', async () => {
    const env = await resolveEdgeSettings({}, { HOME: dir, SERF_EDGE_KEY: ' whsec_a  whsec_b ' })
    expect(env.values.key).toEqual(['whsec_a', 'whsec_b'])
    const flags = await resolveEdgeSettings({ key: ['whsec_c', 'whsec_d whsec_e'] }, { HOME: dir, SERF_EDGE_KEY: 'x' })
    expect(flags.values.key).toEqual(['whsec_c', 'whsec_d', 'whsec_e'])
  })

  it('treats an empty variable as unset', async () => {
    writeConfig(join(dir, '.config', 'serf-edge', 'config.json'), { cluster: 'from-file' })
    const settings = await resolveEdgeSettings({}, { HOME: dir, SERF_EDGE_CLUSTER: '' })
    expect(settings.values.cluster).toBe('from-file')
  })

  it('reads -config instead of the default file', async () => {
    writeConfig(join(dir, '.config', 'serf-edge', 'config.json'), { cluster: 'default-file' })
    const other = writeConfig(join(dir, 'other.json'), { cluster: 'other-file' })
    const settings = await resolveEdgeSettings({ config: other }, { HOME: dir })
    expect(settings.values.cluster).toBe('other-file')
  })

  describe('the CLI sends where the resolved settings say', () => {
    let edge: StubEdge
    afterEach(() => edge?.close())

    it('uses the flag URL and cluster, the env sender and the file key', async () => {
      edge = await startStubEdge(scripted({ POST: [accepted()] }))
      const key = generateHmacKey().secret
      const config = writeConfig(join(dir, 'c.json'), {
        edgeUrl: 'http://127.0.0.1:9',
        cluster: 'nope',
        sender: 'file-bot',
        key,
      })
      const run = await cli(['event', `-edge-url=${edge.url}`, '-cluster', 'staging', '-config', config, 'deploy'], {
        env: { HOME: dir, SERF_EDGE_SENDER: 'env-bot', SERF_EDGE_CLUSTER: 'env-cluster' },
      })
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(edge.requests[0].path).toBe('/v1/clusters/staging/events')
      expect(edge.requests[0].headers['serf-edge-sender']).toBe('env-bot')
    })
  })
})

describe('a config file that cannot be used is a usage error', () => {
  it('names a missing -config file', async () => {
    const run = await cli(['event', '-config', join(dir, 'missing.json'), 'deploy'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`cannot read config file ${join(dir, 'missing.json')}: ENOENT`)
  })

  it('names a file that is not JSON', async () => {
    const path = writeConfig(join(dir, 'bad.json'), '{ edgeUrl: nope')
    const run = await cli(['event', '-config', path, 'deploy'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(`config file ${path} is not valid JSON`)
  })

  it('names an unknown key, so a typo is not silently ignored', async () => {
    const path = writeConfig(join(dir, 'typo.json'), { edge_url: 'https://x.example' })
    const run = await cli(['event', '-config', path, 'deploy'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('edge_url')
    expect(run.stderr).toContain('allowed keys: edgeUrl, cluster, sender, key')
  })
})
