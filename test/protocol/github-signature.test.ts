/** GitHub's X-Hub-Signature-256, verified over raw bytes; signatures made here by node:crypto. */
import { createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { GithubSignatureError, importGithubSecret, verifyGithubSignature } from '../../protocol/github-signature.ts'

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))
const nodeSignature = (secret: string, body: Uint8Array) =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`

describe('verifyGithubSignature', () => {
  it("accepts GitHub's published test vector", async () => {
    const key = await importGithubSecret("It's a Secret to Everybody")
    const signature = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'
    await expect(verifyGithubSignature(key, signature, bytes('Hello, World!'))).resolves.toBeUndefined()
  })

  it('verifies the bytes as received: a byte-order mark and invalid UTF-8 included', async () => {
    const secret = randomBytes(20).toString('hex')
    const body = new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"ref":"refs/heads/main"}'), 0xff, 0xfe])
    const key = await importGithubSecret(secret)
    await expect(verifyGithubSignature(key, nodeSignature(secret, body), body)).resolves.toBeUndefined()
  })

  it('refuses a body changed by one byte, another secret, and a missing or malformed header', async () => {
    const secret = 'correct horse battery staple'
    const key = await importGithubSecret(secret)
    const body = bytes('{"after":"0123"}')
    const changed = body.slice()
    changed[changed.length - 3] = 0x34
    const good = nodeSignature(secret, body)
    const cases: [string | undefined, Uint8Array, RegExp][] = [
      [good, changed, /does not match the body/],
      [nodeSignature('another secret', body), body, /does not match the body/],
      [undefined, body, /no X-Hub-Signature-256 header/],
      ['', body, /no X-Hub-Signature-256 header/],
      [good.replace('sha256=', 'sha1='), body, /is not sha256=<64 lower-case hex digits>/],
      [good.slice(0, -2), body, /is not sha256=/],
      [`${good}00`, body, /is not sha256=/],
      [`x${good}`, body, /is not sha256=/],
    ]
    for (const [header, received, reason] of cases) {
      const attempt = verifyGithubSignature(key, header, new Uint8Array(received))
      await expect(attempt, String(header)).rejects.toThrow(GithubSignatureError)
      await expect(attempt, String(header)).rejects.toThrow(reason)
    }
  })
})
