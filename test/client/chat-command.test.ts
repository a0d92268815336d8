/** `/serf` command text, as the Slack and Discord doors parse it. */
import { describe, expect, it } from 'vitest'
import { parseCommand } from '../../src/doors/chat/command.ts'

describe('parseCommand', () => {
  it('reads an event, its payload with inner spacing kept, and flags before or after', () => {
    expect(parseCommand('deploy v1.4.2')).toEqual({ kind: 'fire', name: 'deploy', payload: 'v1.4.2', coalesce: true })
    expect(parseCommand('  restart  web  now   -cluster=prod -coalesce=false')).toEqual({
      kind: 'fire',
      name: 'restart',
      payload: 'web  now',
      cluster: 'prod',
      coalesce: false,
    })
    expect(parseCommand('-cluster=staging deploy')).toEqual({
      kind: 'fire',
      name: 'deploy',
      payload: '',
      cluster: 'staging',
      coalesce: true,
    })
  })

  it('keeps flag-like words inside the payload as payload', () => {
    expect(parseCommand('echo -cluster=x middle -n')).toMatchObject({ name: 'echo', payload: '-cluster=x middle -n' })
    expect(parseCommand('deploy -1')).toMatchObject({ name: 'deploy', payload: '-1' })
  })

  it('reads help and status', () => {
    expect(parseCommand('')).toEqual({ kind: 'help' })
    expect(parseCommand('help')).toEqual({ kind: 'help' })
    expect(parseCommand('status evt_1 -cluster=prod')).toEqual({ kind: 'status', id: 'evt_1', cluster: 'prod' })
  })

  it('says what is wrong with a malformed command', () => {
    expect(parseCommand('-cluster=prod')).toEqual({ kind: 'invalid', reason: 'no event name given' })
    expect(parseCommand('status')).toMatchObject({ kind: 'invalid', reason: 'status takes one event id' })
    expect(parseCommand('status a b')).toMatchObject({ kind: 'invalid' })
    expect(parseCommand('deploy -coalesce=maybe')).toMatchObject({ kind: 'invalid', reason: /-coalesce takes/ })
    expect(parseCommand('deploy -cluster=')).toMatchObject({ kind: 'invalid', reason: /-cluster needs/ })
  })

  it('reads a query: its name, its payload, and its flags before `query` or after the payload', () => {
    expect(parseCommand('query uptime')).toEqual({ kind: 'query', name: 'uptime', payload: '', nodes: [], tags: {} })
    expect(
      parseCommand('-cluster=prod query  disk-free /var  /tmp  -node=web-1 -node=web-2 -tag=role=^web$ -timeout=5s'),
    ).toEqual({
      kind: 'query',
      name: 'disk-free',
      payload: '/var  /tmp',
      cluster: 'prod',
      nodes: ['web-1', 'web-2'],
      tags: { role: '^web$' },
      timeoutMs: 5000,
    })
    // A tag's regexp may hold "=", and payload words only look like flags.
    expect(parseCommand('query echo -n -x=1 -tag=env=a=b')).toMatchObject({
      payload: '-n -x=1',
      tags: { env: 'a=b' },
    })
  })

  it("keeps the other commands' flags as an event's payload, as before", () => {
    expect(parseCommand('deploy v1 -node=web-1 -timeout=5s')).toEqual({
      kind: 'fire',
      name: 'deploy',
      payload: 'v1 -node=web-1 -timeout=5s',
      coalesce: true,
    })
    expect(parseCommand('deploy query')).toMatchObject({ kind: 'fire', name: 'deploy', payload: 'query' })
  })

  it('says what is wrong with a malformed query', () => {
    const reason = (text: string) => (parseCommand(text) as { reason?: string }).reason
    expect(reason('query')).toBe('query takes a name, e.g. `/serf query uptime`')
    expect(reason('query -timeout=5s')).toBe('query takes a name, e.g. `/serf query uptime`')
    expect(reason('query -node=a uptime')).toBe("put -node=a after the query's name and payload")
    expect(reason('-coalesce=false query uptime')).toBe('-coalesce=false is not a flag of `query`')
    expect(reason('query uptime -tag=role')).toMatch(/^-tag takes KEY=REGEX/)
    expect(reason('query uptime -tag==x')).toMatch(/^-tag takes KEY=REGEX/)
    expect(reason('query uptime -tag=a=1 -tag=a=2')).toBe('-tag a is given twice')
    expect(reason('query uptime -node=')).toBe('-node needs a node name: -node=NAME')
    expect(reason('query uptime -timeout=5')).toMatch(/^-timeout: "5" is not a duration/)
    expect(reason('query uptime -timeout')).toBe('-timeout needs a duration, e.g. -timeout=5s')
    expect(reason('query uptime -cluster=')).toBe('-cluster needs a cluster name')
  })

  it('reads members, with a status filter', () => {
    expect(parseCommand('members')).toEqual({ kind: 'members' })
    expect(parseCommand('-cluster=prod members -status=alive|failed')).toEqual({
      kind: 'members',
      cluster: 'prod',
      status: 'alive|failed',
    })
    expect(parseCommand('members web')).toMatchObject({ kind: 'invalid', reason: /members takes only flags/ })
    expect(parseCommand('members -status=')).toMatchObject({ kind: 'invalid', reason: /-status needs a status/ })
    expect(parseCommand('members -timeout=5s')).toMatchObject({ kind: 'invalid', reason: /members takes only flags/ })
  })
})
