/** Reading a sender's JSON body: one problem per schema failure, and refusals into the audit trail. */
import type { Context } from 'hono'
import type { z } from 'zod'
import type { ClusterSettings } from '../config.ts'
import { type Principal, refuseAttempt } from '../enqueue.ts'
import type { AppEnv } from '../env.ts'
import { ProblemError, type ProblemType } from '../problem.ts'

/** One problem listing every issue of a schema failure. */
export function invalidProblem(type: ProblemType, issues: readonly z.core.$ZodIssue[]): ProblemError {
  const errors = issues.map((issue) => ({
    field: issue.path.join('.') || '(body)',
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }))
  return new ProblemError(type, errors.map((e) => `${e.field}: ${e.message}`).join('; '), { extensions: { errors } })
}

/**
 * The request body, parsed as JSON.
 * @throws {ProblemError} malformed-json
 */
export async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json()
  } catch (cause) {
    throw new ProblemError('malformed-json', 'request body is not valid JSON', { cause })
  }
}

/**
 * The request's JSON body, validated by `schema`.
 * @throws {ProblemError} malformed-json, invalid-request
 */
export async function readJson<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  const parsed = schema.safeParse(await jsonBody(c))
  if (!parsed.success) throw invalidProblem('invalid-request', parsed.error.issues)
  return parsed.data
}

/** A validator hook that throws {@link invalidProblem} on a schema failure. */
export function invalidBody(type: ProblemType) {
  return (result: { success: boolean; error?: { issues: readonly z.core.$ZodIssue[] } }) => {
    if (!result.success && result.error) throw invalidProblem(type, result.error.issues)
  }
}

/**
 * A sender's attempt (an event, a query) read from the body and validated. A body that does not
 * validate, or names another cluster than the path, is refused and, since its sender is known
 * by now, goes into the audit trail.
 * @throws {ProblemError} malformed-json, `invalid` or cluster-mismatch
 */
export async function readAttempt<T extends { cluster: string; name: string }>(
  c: Context<AppEnv>,
  schema: z.ZodType<T>,
  invalid: ProblemType,
  cluster: ClusterSettings,
  principal: Principal,
): Promise<T> {
  const json = await jsonBody(c)
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    const name = (json as { name?: unknown } | null)?.name
    const attempt = { principal, cluster, name: typeof name === 'string' ? name.slice(0, 128) : undefined }
    return refuseAttempt(c.env, attempt, invalidProblem(invalid, parsed.error.issues))
  }
  if (parsed.data.cluster !== cluster.id) {
    const detail = `body names cluster "${parsed.data.cluster}" but the request went to "${cluster.id}"`
    return refuseAttempt(
      c.env,
      { principal, cluster, name: parsed.data.name },
      new ProblemError('cluster-mismatch', detail),
    )
  }
  return parsed.data
}
