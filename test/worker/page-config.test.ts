/** `OPERATORS` and the page's settings: parsed once, every mistake named, the edge closed on one. */
import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.ts'
import app from '../../src/index.ts'

const restart = { id: 'restart-web', label: 'Restart web', cluster: 'prod', name: 'restart', payload: 'web' }

const base = (operators: unknown, extra: Record<string, unknown> = {}) => ({
  CLUSTER_QUEUE: env.CLUSTER_QUEUE,
  OPERATOR_DIRECTORY: env.OPERATOR_DIRECTORY,
  CLUSTERS: { staging: {}, prod: {} },
  SENDERS: {},
  BRIDGE_KEYS_STAGING: env.BRIDGE_KEYS_STAGING,
  BRIDGE_KEYS_PROD: env.BRIDGE_KEYS_STAGING,
  ...(operators === undefined ? {} : { OPERATORS: operators }),
  ...extra,
})

const alice = (fields: Record<string, unknown> = {}, action: Record<string, unknown> = {}) => ({
  alice: { clusters: ['prod'], events: ['restart', 'deploy'], actions: [{ ...restart, ...action }], ...fields },
  bob: { clusters: ['prod'], events: ['restart'] },
})

const refusal = (vars: Record<string, unknown>) =>
  parseConfig(vars).then(
    () => 'accepted',
    (error: Error) => error.message,
  )

describe('OPERATORS', () => {
  it('absent: no operators, and the page has none to enrol', async () => {
    expect((await parseConfig(base(undefined))).page.operators.size).toBe(0)
  })

  it('an operator: scope compiled like a sender’s, quick actions with their defaults', async () => {
    const config = await parseConfig(base(alice()))
    const operator = config.page.operators.get('alice')!
    expect(operator.clusters).toEqual(['prod'])
    expect(operator.custom).toBe(false)
    expect(operator.actions.get('restart-web')).toMatchObject({
      cluster: 'prod',
      name: 'restart',
      payload: { kind: 'fixed', value: 'web' },
      coalesce: true,
      confirm: 'tap',
      danger: false,
    })
  })

  it('accepts vars given as JSON strings, as .dev.vars gives them', async () => {
    const config = await parseConfig(base(JSON.stringify(alice())))
    expect([...config.page.operators.keys()]).toEqual(['alice', 'bob'])
  })

  it.each([
    ['an action outside the operator’s clusters', alice({}, { cluster: 'staging' }), /alice.*outside|alice.*staging/],
    ['an action outside the operator’s events', alice({}, { name: 'reboot' }), /alice.*(outside|reboot)/],
    ['an action on an unknown cluster', alice({ clusters: '*' }, { cluster: 'nope' }), /alice.*unknown cluster "nope"/],
    ['approval without approvers', alice({}, { confirm: 'approval' }), /alice.*approvers/],
    ['an operator approving their own action', alice({}, { confirm: 'approval', approvers: ['alice'] }), /alice.*own/],
    ['an unknown approver', alice({}, { confirm: 'approval', approvers: ['zed'] }), /alice.*"zed"/],
    [
      'both a fixed and an asked payload',
      alice({}, { ask: { pattern: '[a-z]+', label: 'x' } }),
      /alice.*payload or ask/,
    ],
    [
      'an ask pattern that is no regular expression',
      alice({}, { payload: undefined, ask: { pattern: '(', label: 'x' } }),
      /alice.*pattern/,
    ],
    [
      'an example its own pattern refuses',
      alice({}, { payload: undefined, ask: { pattern: '[a-z]+', label: 'x', example: 'A1' } }),
      /alice.*example/,
    ],
    ['two actions with one id', alice({ actions: [restart, restart] }), /alice.*restart-web.*twice/],
    ['an unknown operator field', alice({ cluster: 'prod' }), /OPERATORS\.alice/],
  ])('refuses %s', async (_, operators, detail) => {
    expect(await refusal(base(operators))).toMatch(detail)
  })

  it('refuses a sender managing an unknown operator', async () => {
    const senders = { SENDERS: { ops: { clusters: ['prod'], events: ['*'], operators: ['zed'] } } }
    expect(await refusal(base(alice(), { ...senders, SENDER_KEYS_OPS: env.SENDER_KEYS_CHATOPS }))).toMatch(
      /SENDERS\.ops\.operators names unknown operator "zed"/,
    )
  })

  it('PAGE_SESSION_TTL: hours, at most 24h; PAGE_ORIGIN: an origin naming a host', async () => {
    expect((await parseConfig(base(alice()))).page.sessionTtlMs).toBe(8 * 3_600_000)
    expect((await parseConfig(base(alice(), { PAGE_SESSION_TTL: '24h' }))).page.sessionTtlMs).toBe(24 * 3_600_000)
    expect(await refusal(base(alice(), { PAGE_SESSION_TTL: '25h' }))).toMatch(/PAGE_SESSION_TTL.*24h/)
    expect((await parseConfig(base(alice(), { PAGE_ORIGIN: 'https://edge.example.com' }))).page.origin).toBe(
      'https://edge.example.com',
    )
    expect(await refusal(base(alice(), { PAGE_ORIGIN: 'https://edge.example.com/app/' }))).toMatch(/PAGE_ORIGIN/)
    expect(await refusal(base(alice(), { PAGE_ORIGIN: 'http://127.0.0.1:8787' }))).toMatch(/PAGE_ORIGIN.*IP/)
  })

  it('an invalid operator fails every request with a 500 problem naming it', async () => {
    const res = await app.fetch(
      new Request('https://edge.test/app/api/me'),
      base(alice({}, { cluster: 'staging' })),
      createExecutionContext(),
    )
    expect(res.status).toBe(500)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = (await res.json()) as { type: string; detail: string }
    expect(body.type).toBe('urn:serf-edge:problem:invalid-config')
    expect(body.detail).toMatch(/OPERATORS\.alice/)
  })
})
