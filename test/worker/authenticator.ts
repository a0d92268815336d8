/**
 * A software WebAuthn authenticator for the worker tests, written from the WebAuthn Level 3 and
 * CTAP2 specifications rather than from the code under test: WebCrypto keys (ES256, EdDSA,
 * RS256), a minimal CBOR encoder for the COSE key and the "none" attestation object, and the
 * JSON a browser (or `@simplewebauthn/browser`) sends for `create()` and `get()`. Every field a
 * relying party must check can be made wrong on purpose, to see it refused.
 */

/** The COSE algorithms a passkey may use; the edge accepts all three. */
export const COSE_ALGORITHMS = { ES256: -7, EdDSA: -8, RS256: -257 } as const
export type Algorithm = keyof typeof COSE_ALGORITHMS

// Flag bits of authenticatorData (WebAuthn §6.1).
const USER_PRESENT = 0x01
const USER_VERIFIED = 0x04
const ATTESTED_CREDENTIAL_DATA = 0x40

/** What a browser's `credential.toJSON()` gives for `navigator.credentials.create()`. */
export interface RegistrationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  response: {
    clientDataJSON: string
    attestationObject: string
    authenticatorData: string
    transports: string[]
    publicKeyAlgorithm: number
    publicKey: string
  }
  clientExtensionResults: Record<string, unknown>
  authenticatorAttachment: 'platform'
}

/** What a browser's `credential.toJSON()` gives for `navigator.credentials.get()`. */
export interface AuthenticationResponseJSON {
  id: string
  rawId: string
  type: 'public-key'
  response: { clientDataJSON: string; authenticatorData: string; signature: string; userHandle?: string }
  clientExtensionResults: Record<string, unknown>
  authenticatorAttachment: 'platform'
}

/** The parts of PublicKeyCredentialCreationOptionsJSON an authenticator reads. */
export interface CreationOptions {
  challenge: string
  rp?: { id?: string; name?: string }
  user?: { id: string; name?: string; displayName?: string }
  pubKeyCredParams?: { type: string; alg: number }[]
  [field: string]: unknown
}

/** The parts of PublicKeyCredentialRequestOptionsJSON an authenticator reads. */
export interface RequestOptions {
  challenge: string
  rpId?: string
  allowCredentials?: { id: string; type: string }[]
  [field: string]: unknown
}

/** How a ceremony is performed; every default is what an honest browser and authenticator do. */
export interface CeremonyOptions {
  /** The page's origin the browser writes into clientDataJSON. */
  origin: string
  /** Hash this RP id into authenticatorData instead of the options' one (or the origin's host). */
  rpId?: string
  /** Write this challenge instead of the options' one. */
  challenge?: string
  /** User verification (biometrics or PIN) performed; default true. */
  userVerified?: boolean
  /** User presence (a touch) tested; default true. */
  userPresent?: boolean
  /** Send a signature that does not verify. */
  bogusSignature?: boolean
  /** Report this signature counter instead of the next one. */
  counter?: number
  /** clientDataJSON's `type`; default the ceremony's own. */
  type?: string
  /** Sign even though the options neither offer this key's algorithm nor allow this credential. */
  ignoreOptions?: boolean
}

/** A passkey in a software authenticator: one key pair, its credential id and its counter. */
export class SoftAuthenticator {
  readonly algorithm: Algorithm
  readonly credentialId: Uint8Array<ArrayBuffer>
  /** The credential id as base64url, as the edge and the page name it. */
  readonly id: string
  /** The counter reported by the last ceremony. */
  counter = 0
  /** The user handle a discoverable credential returns: `user.id` from the creation options. */
  userHandle: string | undefined
  readonly #keys: CryptoKeyPair

  private constructor(algorithm: Algorithm, keys: CryptoKeyPair) {
    this.algorithm = algorithm
    this.#keys = keys
    this.credentialId = crypto.getRandomValues(new Uint8Array(32))
    this.id = base64url(this.credentialId)
  }

  /** A new key pair for `algorithm` (default ES256, what platform authenticators make). */
  static async create(algorithm: Algorithm = 'ES256'): Promise<SoftAuthenticator> {
    const params = {
      ES256: { name: 'ECDSA', namedCurve: 'P-256' },
      EdDSA: { name: 'Ed25519' },
      RS256: {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
    }[algorithm]
    const keys = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
    return new SoftAuthenticator(algorithm, keys)
  }

  /** `navigator.credentials.create()` for `options`: a "none" attestation of a new credential. */
  async register(options: CreationOptions, ceremony: CeremonyOptions): Promise<RegistrationResponseJSON> {
    const alg = COSE_ALGORITHMS[this.algorithm]
    if (!ceremony.ignoreOptions && options.pubKeyCredParams && !options.pubKeyCredParams.some((p) => p.alg === alg)) {
      throw new Error(`NotSupportedError: the options do not offer ${this.algorithm} (COSE ${alg})`)
    }
    this.userHandle = options.user?.id
    const rpId = ceremony.rpId ?? options.rp?.id ?? new URL(ceremony.origin).hostname
    const cose = await this.#coseKey()
    const attested = concat(
      new Uint8Array(16), // AAGUID: zero, as "none" attestation reports it
      u16(this.credentialId.length),
      this.credentialId,
      cose,
    )
    this.counter = ceremony.counter ?? 0
    const authData = await authenticatorData(rpId, ceremony, ATTESTED_CREDENTIAL_DATA, this.counter, attested)
    const clientData = clientDataJSON(
      ceremony.type ?? 'webauthn.create',
      ceremony.challenge ?? options.challenge,
      ceremony,
    )
    const attestationObject = cbor(
      new Map<string, unknown>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    )
    const spki = new Uint8Array((await crypto.subtle.exportKey('spki', this.#keys.publicKey)) as ArrayBuffer)
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: base64url(clientData),
        attestationObject: base64url(attestationObject),
        authenticatorData: base64url(authData),
        transports: ['internal', 'hybrid'],
        publicKeyAlgorithm: alg,
        publicKey: base64url(spki),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /** `navigator.credentials.get()` for `options`: an assertion, the counter one higher each time. */
  async assert(options: RequestOptions, ceremony: CeremonyOptions): Promise<AuthenticationResponseJSON> {
    const allowed = options.allowCredentials
    if (!ceremony.ignoreOptions && allowed?.length && !allowed.some((c) => c.id === this.id)) {
      throw new Error('NotAllowedError: this credential is not in allowCredentials')
    }
    const rpId = ceremony.rpId ?? options.rpId ?? new URL(ceremony.origin).hostname
    this.counter = ceremony.counter ?? this.counter + 1
    const authData = await authenticatorData(rpId, ceremony, 0, this.counter)
    const clientData = clientDataJSON(
      ceremony.type ?? 'webauthn.get',
      ceremony.challenge ?? options.challenge,
      ceremony,
    )
    const signed = concat(authData, new Uint8Array(await crypto.subtle.digest('SHA-256', clientData)))
    let signature = await this.#sign(signed)
    if (ceremony.bogusSignature) signature = await this.#sign(concat(signed, new Uint8Array([0])))
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: base64url(clientData),
        authenticatorData: base64url(authData),
        signature: base64url(signature),
        ...(this.userHandle === undefined ? {} : { userHandle: this.userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    }
  }

  /** The signature WebAuthn expects: DER for ECDSA (WebCrypto gives r‖s), raw otherwise. */
  async #sign(data: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const params = {
      ES256: { name: 'ECDSA', hash: 'SHA-256' },
      EdDSA: { name: 'Ed25519' },
      RS256: { name: 'RSASSA-PKCS1-v1_5' },
    }[this.algorithm]
    const signature = new Uint8Array(await crypto.subtle.sign(params, this.#keys.privateKey, data))
    return this.algorithm === 'ES256' ? derSignature(signature) : signature
  }

  /** The credential public key as a COSE_Key (RFC 9053), keys in CTAP2 canonical order. */
  async #coseKey(): Promise<Uint8Array<ArrayBuffer>> {
    const jwk = (await crypto.subtle.exportKey('jwk', this.#keys.publicKey)) as JsonWebKey
    const b = (field: string | undefined) => fromBase64url(field!)
    const entries: Record<Algorithm, () => [number, unknown][]> = {
      ES256: () => [
        [1, 2], // kty: EC2
        [3, -7],
        [-1, 1], // crv: P-256
        [-2, b(jwk.x)],
        [-3, b(jwk.y)],
      ],
      EdDSA: () => [
        [1, 1], // kty: OKP
        [3, -8],
        [-1, 6], // crv: Ed25519
        [-2, b(jwk.x)],
      ],
      RS256: () => [
        [1, 3], // kty: RSA
        [3, -257],
        [-1, b(jwk.n)],
        [-2, b(jwk.e)],
      ],
    }
    return cbor(new Map(entries[this.algorithm]()))
  }
}

async function authenticatorData(
  rpId: string,
  ceremony: CeremonyOptions,
  extraFlags: number,
  counter: number,
  attested: Uint8Array<ArrayBuffer> = new Uint8Array(0),
): Promise<Uint8Array<ArrayBuffer>> {
  const rpIdHash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(rpId)))
  const flags =
    (ceremony.userPresent === false ? 0 : USER_PRESENT) |
    (ceremony.userVerified === false ? 0 : USER_VERIFIED) |
    extraFlags
  return concat(rpIdHash, new Uint8Array([flags]), u32(counter), attested)
}

function clientDataJSON(type: string, challenge: string, ceremony: CeremonyOptions): Uint8Array<ArrayBuffer> {
  const json = JSON.stringify({ type, challenge, origin: ceremony.origin, crossOrigin: false })
  return new TextEncoder().encode(json) as Uint8Array<ArrayBuffer>
}

/**
 * An ECDSA signature as an ASN.1 DER `SEQUENCE { r INTEGER, s INTEGER }`, the form WebAuthn
 * requires for ES256: each integer minimal, with a zero byte in front when its top bit is set.
 */
export function derSignature(raw: Uint8Array): Uint8Array<ArrayBuffer> {
  const integer = (bytes: Uint8Array) => {
    let start = 0
    while (start < bytes.length - 1 && bytes[start] === 0) start++
    const trimmed = bytes.subarray(start)
    const body = trimmed[0]! & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed
    return concat(new Uint8Array([0x02, body.length]), body)
  }
  const half = raw.length / 2
  const body = concat(integer(raw.subarray(0, half)), integer(raw.subarray(half)))
  return concat(new Uint8Array([0x30, body.length]), body)
}

/**
 * A minimal CBOR encoder (RFC 8949): integers, byte and text strings, arrays and maps, which is
 * all a COSE key and an attestation object hold. Maps keep their insertion order, so callers
 * write keys in canonical order.
 */
export function cbor(value: unknown): Uint8Array<ArrayBuffer> {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`cbor: not an integer: ${value}`)
    return value >= 0 ? head(0, value) : head(1, -1 - value)
  }
  if (typeof value === 'string') {
    const bytes = new TextEncoder().encode(value)
    return concat(head(3, bytes.length), bytes as Uint8Array<ArrayBuffer>)
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), new Uint8Array(value))
  if (Array.isArray(value)) return concat(head(4, value.length), ...value.map(cbor))
  if (value instanceof Map) {
    return concat(head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)]))
  }
  throw new TypeError(`cbor: cannot encode ${typeof value}`)
}

function head(major: number, n: number): Uint8Array<ArrayBuffer> {
  const m = major << 5
  if (n < 24) return new Uint8Array([m | n])
  if (n < 0x100) return new Uint8Array([m | 24, n])
  if (n < 0x10000) return concat(new Uint8Array([m | 25]), u16(n))
  if (n < 0x100000000) return concat(new Uint8Array([m | 26]), u32(n))
  throw new RangeError('cbor: integer too large for this encoder')
}

const u16 = (n: number) => new Uint8Array([n >>> 8, n & 0xff])
const u32 = (n: number) => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])

function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const part of parts) {
    out.set(part, at)
    at += part.length
  }
  return out
}

/** Unpadded base64url (RFC 4648 §5), as WebAuthn's JSON forms write bytes. */
export function base64url(bytes: Uint8Array): string {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (c) => c.charCodeAt(0))
}
