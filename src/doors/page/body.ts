/** Reading the page's JSON bodies (their content type is checked by `requireJson` first). */
import type { Context } from 'hono'
import type { z } from 'zod'
import type { AppEnv } from '../../env.ts'
import { ProblemError } from '../../problem.ts'
import { invalidProblem } from '../../routes/body.ts'

/**
 * The request's JSON body, validated by `schema`.
 * @throws {ProblemError} malformed-json, invalid-request
 */
export async function readJson<T, E extends AppEnv>(c: Context<E>, schema: z.ZodType<T>): Promise<T> {
  let json: unknown
  try {
    json = await c.req.json()
  } catch (cause) {
    throw new ProblemError('malformed-json', 'request body is not valid JSON', { cause })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) throw invalidProblem('invalid-request', parsed.error.issues)
  return parsed.data
}
