import { spawn } from 'node:child_process'
import { createPublicKey, verify as verifyEd25519 } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { senderSecretName } from '../../client/cli-keygen.ts'
import { cli, edgeEnv } from './run-cli.ts'
import { accepted, problem, type StubEdge, scripted, startStubEdge } from './stub-edge.ts'

const CLI = fileURLToPath(new URL('../../client/cli.ts', import.meta.url))

let edge: StubEdge
afterEach(() => edge?.close())

describe('serf-edge keygen', () => {
  it('names the Worker secret after the sender, upper-cased, others as _', () => {
    expect(senderSecretName('chat-ops')).toBe('SENDER_KEYS_CHAT_OPS')
    expect(senderSecretName('ci_2')).toBe('SENDER_KEYS_CI_2')
  })

  it('prints the key to keep and the exact lines that register it', async () => {
    const run = await cli(['keygen', '-sender=chat-ops', '-cluster', 'staging'], {
      env: { SERF_EDGE_URL: 'https://edge.example', XDG_CONFIG_HOME: '/xdg' },
    })
    expect(run.code).toBe(0)
    const secret = run.stdout.match(/^SERF_EDGE_KEY='(whsk_[A-Za-z0-9+/=]+)'$/m)?.[1]
    const verify = run.stdout.match(
      /^printf '%s' '(whpk_[A-Za-z0-9+/=]+)' \| npx wrangler secret put SENDER_KEYS_CHAT_OPS$/m,
    )?.[1]
    expect(secret).toBeDefined()
    expect(verify).toBeDefined()
    expect(run.stdout).toContain(`SENDER_KEYS_CHAT_OPS="${verify}"`)
    expect(run.stdout).toContain('under [vars]')
    expect(run.stdout).toMatch(/^SENDERS = \{ chat-ops = \{ clusters = \["staging"\], events = \["\*"\] \} \}$/m)
    expect(run.stdout).toContain('/xdg/serf-edge/config.json')
    const config = JSON.parse(run.stdout.slice(run.stdout.lastIndexOf('{\n')))
    expect(config).toEqual({
      edgeUrl: 'https://edge.example',
      cluster: 'staging',
      sender: 'chat-ops',
      key: secret,
    })
  })

  it('makes an ed25519 key whose signatures verify with its printed public key', async () => {
    const { stdout } = await cli(['keygen', '-json', '-sender', 'bot'])
    const key = JSON.parse(stdout) as {
      type: string
      secret: string
      verify: string
      secretName: string
    }
    expect(key).toMatchObject({ type: 'ed25519', secretName: 'SENDER_KEYS_BOT' })
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    expect((await cli(['event', 'deploy'], { env: edgeEnv(edge.url, key.secret) })).code).toBe(0)
    const [request] = edge.requests
    const publicKey = createPublicKey({
      key: {
        kty: 'OKP',
        crv: 'Ed25519',
        x: Buffer.from(key.verify.slice(5), 'base64').toString('base64url'),
      },
      format: 'jwk',
    })
    const content = `${request.headers['webhook-id']}.${request.headers['webhook-timestamp']}.${request.body}`
    const signature = Buffer.from(request.headers['webhook-signature'].slice('v1a,'.length), 'base64')
    expect(verifyEd25519(null, Buffer.from(content), publicKey, signature)).toBe(true)
  })

  it('makes an hmac key that standardwebhooks accepts', async () => {
    const { stdout } = await cli(['keygen', '-type=hmac', '-json'])
    const key = JSON.parse(stdout) as { secret: string; verify: string }
    expect(key.verify).toBe(key.secret)
    edge = await startStubEdge(scripted({ POST: [accepted()] }))
    await cli(['event', 'deploy'], { env: edgeEnv(edge.url, key.secret) })
    expect(() => new Webhook(key.verify).verify(edge.requests[0].body, edge.requests[0].headers)).not.toThrow()
  })

  it('refuses an unknown type and a sender id the edge would not take', async () => {
    expect(await cli(['keygen', '-type=rsa'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('-type must be ed25519 or hmac'),
    })
    expect(await cli(['keygen', '-sender=Chat Ops'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('sender id "Chat Ops"'),
    })
  })
})

describe('client/cli.ts runs as a script', () => {
  function runScript(args: string[], env: Record<string, string>, stdin: Buffer) {
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk) => (stdout += chunk))
      child.stderr.on('data', (chunk) => (stderr += chunk))
      child.on('error', reject)
      child.on('close', (code) => resolve({ code, stdout, stderr }))
      child.stdin.end(stdin)
    })
  }

  it('sends stdin as the payload and exits 0', async () => {
    edge = await startStubEdge(scripted({ POST: [accepted('evt_s', 3)] }))
    const key = JSON.parse((await cli(['keygen', '-type=hmac', '-json'])).stdout).secret as string
    const payload = Buffer.from('line one\nline two\n')
    const run = await runScript(['event', '-coalesce=false', 'notes', '-'], edgeEnv(edge.url, key), payload)
    expect(run.stderr).not.toContain('serf-edge')
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('id:        evt_s\nsequence:  3\n')
    const body = JSON.parse(edge.requests[0].body)
    expect(body).toMatchObject({ name: 'notes', coalesce: false })
    expect(Buffer.from(body.payloadBase64, 'base64')).toEqual(payload)
  })

  it('exits with the code of the outcome', async () => {
    edge = await startStubEdge(
      scripted({
        POST: [() => problem(401, 'unauthenticated', 'Request not authenticated', 'unknown sender "bot"')],
      }),
    )
    const key = JSON.parse((await cli(['keygen', '-type=hmac', '-json'])).stdout).secret as string
    const run = await runScript(['event', 'deploy'], edgeEnv(edge.url, key), Buffer.alloc(0))
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('401 Request not authenticated\n  unknown sender "bot"')
  })
})
