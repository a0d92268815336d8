/** protocol/signature.ts verifies over exact bytes, for every scheme; signatures made by node:crypto. */
import { createHmac, generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { importVerifyKey, SignatureError, verifySignature } from '../../protocol/signature.ts'

const id = 'msg_bytes'
const now = 1_800_000_000
const headers = (signature: string) => ({ id, timestamp: String(now), signature })
const content = (bytes: Uint8Array) => Buffer.concat([Buffer.from(`${id}.${now}.`), bytes])

const json = Buffer.from('{"cluster":"staging","name":"deploy"}')
/** Bodies whose bytes a text decoder would change: a BOM it drops, sequences it replaces. */
const bodies = {
  'a byte-order mark': Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), json]),
  'invalid UTF-8': Buffer.concat([json.subarray(0, 10), Buffer.of(0xff, 0xfe, 0xc3), json.subarray(10)]),
}

const secret = Buffer.alloc(32, 7)
const hmacKey = `whsec_${secret.toString('base64')}`
const ed = generateKeyPairSync('ed25519')
const edKey = `whpk_${ed.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64')}`

const schemes = {
  'v1 (HMAC-SHA256)': {
    key: hmacKey,
    sign: (b: Uint8Array) => `v1,${createHmac('sha256', secret).update(content(b)).digest('base64')}`,
  },
  'v1a (Ed25519)': {
    key: edKey,
    sign: (b: Uint8Array) => `v1a,${sign(null, content(b), ed.privateKey).toString('base64')}`,
  },
}

describe('signatures are verified over the bytes received', () => {
  for (const [scheme, { key, sign: signOver }] of Object.entries(schemes)) {
    for (const [kind, bytes] of Object.entries(bodies)) {
      it(`${scheme}: a body with ${kind} verifies over its exact bytes`, async () => {
        const keys = [await importVerifyKey(key)]
        await expect(
          verifySignature(keys, headers(signOver(bytes)), bytes, { nowSeconds: now }),
        ).resolves.toBeUndefined()
      })

      it(`${scheme}: a signature over the decoded text of a body with ${kind} does not verify`, async () => {
        const keys = [await importVerifyKey(key)]
        const decoded = new TextEncoder().encode(new TextDecoder().decode(bytes))
        expect(Buffer.from(decoded).equals(bytes)).toBe(false)
        await expect(verifySignature(keys, headers(signOver(decoded)), bytes, { nowSeconds: now })).rejects.toThrow(
          SignatureError,
        )
      })
    }
  }
})
