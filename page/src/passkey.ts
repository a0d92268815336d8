/**
 * Signing one action with the passkey: the edge issues a nonce and the challenge it derived
 * from the event; the page derives the challenge again from the event it showed (protocol/page.ts)
 * and lets the passkey sign only when both agree, so an edge, a proxy or a bug that swapped the
 * event between the confirm screen and the signature gets no signature at all.
 */
import { startAuthentication, WebAuthnError } from '@simplewebauthn/browser'
import { actionChallenge, type FireAnswer, type PageEvent } from '../../protocol/page.ts'
import { challenge, fire, PageProblem } from './api.ts'

/** What is signed: the event as shown, and the quick action or approval it is for. */
export interface SignedRequest {
  event: PageEvent
  action?: string
  approval?: string
}

/** The edge's challenge is not the one the page computed for the event on screen. */
export class ChallengeMismatchError extends Error {
  override name = 'ChallengeMismatchError'
  constructor() {
    super('The edge asked the passkey to sign something other than the event on screen. Nothing was signed or sent.')
  }
}

/**
 * Challenge, check, sign with the passkey (user verification), fire.
 * @throws {ChallengeMismatchError} the edge's challenge differs from the recomputed one; nothing was signed
 * @throws {PageProblem} the edge refused (`nonce-invalid`, `passkey-rejected`, `forbidden`, …)
 * @throws {WebAuthnError | Error} the passkey prompt was cancelled or failed
 */
export async function signAndFire(request: SignedRequest): Promise<FireAnswer> {
  const answer = await challenge(request)
  const expected = await actionChallenge(request.event, answer.nonce)
  // The top-level challenge is what the edge claims; `options.challenge` is what the passkey signs.
  if (answer.challenge !== expected || answer.options.challenge !== expected) throw new ChallengeMismatchError()
  const response = await startAuthentication({
    optionsJSON: answer.options as unknown as Parameters<typeof startAuthentication>[0]['optionsJSON'],
  })
  return fire({ ...request, nonce: answer.nonce, response })
}

/** A sentence for any failure of a passkey ceremony or of the edge around it. */
export function failureText(error: unknown): string {
  if (error instanceof PageProblem) return error.text
  if (error instanceof ChallengeMismatchError) return error.message
  if (error instanceof WebAuthnError || (error instanceof Error && error.name === 'NotAllowedError')) {
    return `The passkey did not sign (${error.message}). Nothing was sent.`
  }
  return error instanceof Error ? error.message : String(error)
}
