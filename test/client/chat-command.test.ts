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
})
