/** Waiting on a condition, never on the clock alone; runs in Node and in workerd alike. */

/**
 * Poll `check` until it returns a value other than `undefined` or `false`, and return it.
 * @example await waitFor(() => portAnswers(rpcAddr), { timeoutMs: 15_000, what: 'the agent' })
 * @throws {Error} naming `what` after `timeoutMs`, or whatever `check` throws
 */
export async function waitFor<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
