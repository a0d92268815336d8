/** Invalid configuration fails every request with a problem naming what is wrong. */

import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import app from '../../src/index.ts'

const good = () => ({
  CLUSTER_QUEUE: env.CLUSTER_QUEUE,
  CLUSTERS: { staging: {} },
  SENDERS: { bot: { clusters: ['staging'], events: ['deploy'] } },
  SENDER_KEYS_BOT: env.SENDER_KEYS_CHATOPS,
  BRIDGE_KEYS_STAGING: env.BRIDGE_KEYS_STAGING,
})

async function answer(badEnv: Record<string, unknown>) {
  const res = await app.fetch(
    new Request('https://edge.test/v1/clusters/staging/events', { method: 'POST', body: '{}' }),
    badEnv,
    createExecutionContext(),
  )
  const body = (await res.json()) as { type: string; detail: string }
  return { status: res.status, type: res.headers.get('content-type'), body }
}

describe('configuration', () => {
  it('defaults fill a minimal cluster entry', async () => {
    const config = await parseConfig(good())
    expect(config.clusters.get('staging')).toEqual({
      id: 'staging',
      userEventSizeLimit: 512,
      maxEventAgeMs: 3_600_000,
      retentionMs: 7 * 86_400_000,
      maxQueuedEvents: 100_000,
      leaseTtlMs: 60_000,
      querySizeLimit: 1024,
      queryResponseSizeLimit: 1024,
    })
  })

  it('accepts vars given as JSON strings (as .dev.vars and --var give them)', async () => {
    const config = await parseConfig({ ...good(), CLUSTERS: '{"staging": {"userEventSizeLimit": 1024}}' })
    expect(config.clusters.get('staging')?.userEventSizeLimit).toBe(1024)
  })

  it.each([
    [{ CLUSTERS: undefined }, /CLUSTERS is not set/],
    [{ CLUSTERS: '{nope' }, /CLUSTERS is not valid JSON/],
    [{ CLUSTERS: { staging: { userEventSizeLimit: 10_000 } } }, /CLUSTERS.staging.userEventSizeLimit: .*9216/],
    [{ CLUSTERS: { staging: { maxEventAge: '15 minutes' } } }, /CLUSTERS.staging.maxEventAge: .*not a duration/],
    [{ CLUSTERS: { staging: { retention: '1m' } } }, /retention must be at least 10m/],
    [{ CLUSTERS: { staging: { sizeLimit: 512 } } }, /CLUSTERS.staging: .*sizeLimit/],
    [{ CLUSTERS: { 'Bad Name': {} } }, /"Bad Name" is not a valid cluster id/],
    [{ BRIDGE_KEYS_STAGING: undefined }, /secret BRIDGE_KEYS_STAGING is not set/],
    [{ SENDER_KEYS_BOT: 'whsec_short' }, /SENDER_KEYS_BOT, key 1: whsec_ key/],
    [{ SENDER_KEYS_BOT: 'hunter2' }, /SENDER_KEYS_BOT, key 1: a verify key must start with whsec_/],
    [{ SENDERS: { bot: { clusters: ['prod'] } } }, /SENDERS.bot.clusters names unknown cluster "prod"/],
    [
      { SENDERS: { bot: { clusters: ['staging'], audit: ['prod'] } } },
      /SENDERS.bot.audit names unknown cluster "prod"/,
    ],
    [{ SENDERS: { bot: { events: ['deploy'] } } }, /SENDERS.bot.clusters/],
  ])('%j fails every request with a 500 problem naming it', async (change, detail) => {
    const result = await answer({ ...good(), ...change })
    expect(result.status).toBe(500)
    expect(result.type).toBe('application/problem+json')
    expect(result.body.type).toBe('urn:serf-edge:problem:invalid-config')
    expect(result.body.detail).toMatch(detail)
    expect(result.body.detail).not.toMatch(/at .*\.ts:\d+/)
    expect(result.body.detail).not.toContain(String(env.SENDER_KEYS_CHATOPS))
  })

  it('GET /healthz answers 200 with a good configuration and 500 naming the mistake otherwise', async () => {
    const probe = (probeEnv: Record<string, unknown>) =>
      app.fetch(new Request('https://edge.test/healthz'), probeEnv, createExecutionContext())
    const ok = await probe(good())
    expect(ok.status).toBe(200)
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(await ok.json()).toEqual({ status: 'ok', service: 'serf-edge' })
    const bad = await probe({ ...good(), BRIDGE_KEYS_STAGING: undefined })
    expect(bad.status).toBe(500)
    const problem = (await bad.json()) as { type: string; detail: string }
    expect(problem.type).toBe('urn:serf-edge:problem:invalid-config')
    expect(problem.detail).toMatch(/secret BRIDGE_KEYS_STAGING is not set/)
  })
})
