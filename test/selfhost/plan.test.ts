/** The self-hosted edge's plan: which keys a configuration needs, and the workerd config text. */
import { describe, expect, it } from 'vitest'
import {
  capnpText,
  keyNamesFor,
  renderServeScript,
  renderWorkerdConfig,
  type SelfHostPlan,
} from '../../scripts/selfhost/plan.ts'

const plan = (over: Partial<SelfHostPlan> = {}): SelfHostPlan => ({
  name: 'serf-edge',
  compatibilityDate: '2026-11-01',
  compatibilityFlags: [],
  vars: { CLUSTERS: { prod: {} }, PAGE_ORIGIN: 'https://edge.example' },
  durableObjects: [{ binding: 'CLUSTER_QUEUE', className: 'ClusterQueue' }],
  assetsBinding: 'ASSETS',
  keyNames: ['BRIDGE_KEYS_PROD'],
  inlineKeys: undefined,
  listen: '127.0.0.1:8787',
  tls: false,
  outboundAllow: ['public'],
  ...over,
})

describe('keyNamesFor', () => {
  it('names the key of every cluster, sender, Slack app, Discord app and GitHub hook', () => {
    expect(
      keyNamesFor({
        CLUSTERS: { prod: {}, 'eu-west': {} },
        SENDERS: JSON.stringify({ 'chat-ops': {} }),
        SLACK_APPS: { ops: {} },
        DISCORD_APPS: { ops: {} },
        GITHUB_HOOKS: { app: {} },
        OPERATORS: { alice: {} },
        PAGE_ORIGIN: 'https://edge.example',
      }),
    ).toEqual([
      'BRIDGE_KEYS_EU_WEST',
      'BRIDGE_KEYS_PROD',
      'DISCORD_PUBLIC_KEY_OPS',
      'GITHUB_WEBHOOK_SECRET_APP',
      'SENDER_KEYS_CHAT_OPS',
      'SLACK_SIGNING_SECRET_OPS',
    ])
  })

  it('leaves a section that is not valid JSON to the Worker, which reports it by name', () => {
    expect(keyNamesFor({ CLUSTERS: '{not json', SENDERS: { ci: {} } })).toEqual(['SENDER_KEYS_CI'])
  })
})

describe('capnpText', () => {
  it('escapes quotes, backslashes and control characters, and keeps other text as it is', () => {
    expect(capnpText('a "b" \\ c\nd\te\u0001 é')).toBe('"a \\"b\\" \\\\ c\\nd\\te\\x01 é"')
  })
})

describe('renderWorkerdConfig', () => {
  it('binds objects as JSON, strings as text and keys from the environment', () => {
    const config = renderWorkerdConfig(plan())
    expect(config).toContain('(name = "CLUSTERS", json = "{\\"prod\\":{}}")')
    expect(config).toContain('(name = "PAGE_ORIGIN", text = "https://edge.example")')
    expect(config).toContain('(name = "BRIDGE_KEYS_PROD", fromEnvironment = "BRIDGE_KEYS_PROD")')
    expect(config).toContain('(className = "ClusterQueue", uniqueKey = "serf-edge-ClusterQueue", enableSql = true)')
    expect(config).toContain('durableObjectStorage = (localDisk = "state")')
    expect(config).toContain('network = (allow = ["public"]')
    expect(config).toContain('http = ()')
  })

  it('writes a key in clear only when it is inline; TLS makes the socket https', () => {
    const config = renderWorkerdConfig(plan({ inlineKeys: { BRIDGE_KEYS_PROD: 'whsec_x' }, tls: true }))
    expect(config).toContain('(name = "BRIDGE_KEYS_PROD", text = "whsec_x")')
    expect(config).not.toContain('fromEnvironment = ')
    expect(config).toContain('certificateChain = embed "tls/cert.pem"')
    expect(renderServeScript(plan({ inlineKeys: { BRIDGE_KEYS_PROD: 'whsec_x' } }))).not.toContain('BRIDGE_KEYS_PROD')
  })

  it('without static assets has no assets Worker', () => {
    expect(renderWorkerdConfig(plan({ assetsBinding: undefined }))).not.toContain('assets')
  })
})
