/**
 * WebAuthn for the on-call page, through @simplewebauthn/server (WebCrypto only, so it runs in
 * Workers; it parses CBOR and COSE keys and checks origin, RP id, flags and signatures). Chosen
 * over hand parsing: attestation objects and COSE keys are easy to get subtly wrong. Here: which
 * options the edge asks for (user verification required; ES256, EdDSA, RS256; no attestation),
 * and turning the library's answers and errors into problems.
 */
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransport,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from '@simplewebauthn/server'
import { utf8 } from '../../../protocol/bytes.ts'
import type { NewCredential, StoredCredential } from '../../operators/directory.ts'
import { ProblemError } from '../../problem.ts'

/** COSE ids: ES256 (-7), EdDSA (-8), RS256 (-257). */
export const ALGORITHMS = [-7, -8, -257]

/** Where the page lives: the origin passkeys are bound to and its RP id (the host name). */
export interface RelyingParty {
  origin: string
  rpID: string
}

export const relyingParty = (origin: string): RelyingParty => ({ origin, rpID: new URL(origin).hostname })

/** Options for creating a passkey for `operator`, excluding the ones it already has. */
export function registrationOptions(
  rp: RelyingParty,
  operator: string,
  userId: string,
  existing: { id: string; transports: string[] }[],
) {
  return generateRegistrationOptions({
    rpName: 'serf-edge',
    rpID: rp.rpID,
    userName: operator,
    userDisplayName: `${operator} (serf-edge on-call)`,
    userID: utf8(userId),
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    supportedAlgorithmIDs: ALGORITHMS,
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: c.transports })),
    timeout: 120_000,
  })
}

/**
 * Verify a new passkey against the challenge the edge issued.
 * @throws {ProblemError} passkey-rejected
 */
export async function verifyRegistration(
  rp: RelyingParty,
  response: RegistrationResponseJSON,
  expectedChallenge: string,
  name: string,
): Promise<NewCredential> {
  let result: Awaited<ReturnType<typeof verifyRegistrationResponse>>
  try {
    result = await verifyRegistrationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    })
  } catch (error) {
    throw rejected('the new passkey could not be verified', error)
  }
  if (!result.verified) throw new ProblemError('passkey-rejected', 'the new passkey could not be verified')
  const { credential } = result.registrationInfo
  return {
    credentialId: credential.id,
    publicKey: credential.publicKey,
    counter: credential.counter,
    transports: credential.transports ?? [],
    name,
  }
}

/** Options for an assertion over `challenge` (raw bytes), from `allow` or any discoverable passkey. */
export function authenticationOptions(
  rp: RelyingParty,
  challenge: Uint8Array<ArrayBuffer>,
  allow?: { id: string; transports: string[] }[],
) {
  return generateAuthenticationOptions({
    rpID: rp.rpID,
    challenge,
    userVerification: 'required',
    timeout: 120_000,
    ...(allow ? { allowCredentials: allow.map((c) => ({ id: c.id, transports: c.transports })) } : {}),
  })
}

/**
 * Verify an assertion over `expectedChallenge` by a stored passkey: signature, origin, RP id,
 * user presence and verification, signature counter. Returns the new counter.
 * @throws {ProblemError} passkey-rejected
 */
export async function verifyAssertion(
  rp: RelyingParty,
  response: AuthenticationResponseJSON,
  expectedChallenge: string,
  stored: StoredCredential,
): Promise<number> {
  let result: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
  try {
    result = await verifyAuthenticationResponse({
      response,
      expectedChallenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.rpID,
      requireUserVerification: true,
      credential: {
        id: stored.credentialId,
        publicKey: stored.publicKey as Uint8Array<ArrayBuffer>,
        counter: stored.counter,
        transports: stored.transports as AuthenticatorTransport[],
      },
    })
  } catch (error) {
    throw rejected('the passkey assertion could not be verified', error)
  }
  if (!result.verified) throw new ProblemError('passkey-rejected', 'the passkey signature does not verify')
  return result.authenticationInfo.newCounter
}

/** The library's reason, kept: it says which check failed (origin, challenge, flags, counter). */
function rejected(what: string, error: unknown): ProblemError {
  const reason = error instanceof Error ? error.message : String(error)
  return new ProblemError('passkey-rejected', `${what}: ${reason}`, { cause: error })
}

export type { AuthenticationResponseJSON, RegistrationResponseJSON }
