/**
 * How a bridge's long-poll waits without keeping the cluster's Durable Object awake. An object
 * is billed for duration while it runs a request, so a poll that waited inside it kept it awake
 * every second a bridge waited. Instead the Worker holds the bridge's request (a Worker is billed
 * for CPU, not for time spent waiting) and the object accepts a WebSocket from it with
 * `ctx.acceptWebSocket`, which the runtime keeps open while the object hibernates: between
 * events the object runs nothing and holds nothing in memory, the socket's attachment (the
 * wait) survives in the runtime.
 *
 * When an event is appended, the object answers each waiting events poll over its socket, in the
 * append's own turn, exactly as the poll would have answered (lease renewed, events handed out),
 * so the answer costs no storage commit of its own and the bridge hears of the event as soon as
 * before. A query only wakes the queries poll, which then polls the object: handing a query out
 * marks it running, which must not happen for an answer the Worker may drop. Either way nothing
 * is lost if a message is: events and queries stay queued in storage until acknowledged or
 * taken by a poll the Worker answers, and the Worker polls the object itself when its wait ends
 * without an answer (its timeout, or the socket closing because the object restarted).
 *
 * The object looks for work and accepts the socket in one step, with no await between, so an
 * append lands either before the look (the Worker polls again at once) or after the accept (it
 * finds the socket).
 */

/** What a Worker waits for: events above `after` for a bridge's poll, or a query to run. */
export type Wait = { lane: 'events'; bridgeId: string; after: number; limit: number } | { lane: 'queries' }
export type EventsWait = Extract<Wait, { lane: 'events' }>

const PATH = /^\/wait\/(events|queries)$/

/**
 * Worker side: wait until the object answers the wait, the socket closes, or `ms` pass; at once
 * if the object has something for it already.
 * @returns what the object answered, or null: then poll the object
 * @example const page = await waitForAnswer<PollResult>(queue, { lane: 'events', ...poll }, 25_000)
 */
export async function waitForAnswer<T>(queue: Pick<Fetcher, 'fetch'>, wait: Wait, ms: number): Promise<T | null> {
  const url = new URL(`https://cluster-queue/wait/${wait.lane}`)
  if (wait.lane === 'events') {
    for (const key of ['bridgeId', 'after', 'limit'] as const) url.searchParams.set(key, String(wait[key]))
  }
  const socket = (await queue.fetch(url, { headers: { upgrade: 'websocket' } })).webSocket
  if (!socket) return null
  socket.accept()
  const message = await new Promise<string | null>((resolve) => {
    const timer = setTimeout(() => resolve(null), ms)
    const done = (value: string | null) => {
      clearTimeout(timer)
      resolve(value)
    }
    socket.addEventListener('message', (event) => done(typeof event.data === 'string' ? event.data : null))
    socket.addEventListener('close', () => done(null))
    socket.addEventListener('error', () => done(null))
  })
  if (socket.readyState === WebSocket.OPEN) socket.close(1000, 'wait over')
  return message === null ? null : (JSON.parse(message) as T | null)
}

/** Object side: the wait a Worker asks for, or null when `request` is not one. */
export function readWait(request: Request): Wait | null {
  const url = new URL(request.url)
  const lane = PATH.exec(url.pathname)?.[1]
  if (request.headers.get('upgrade') !== 'websocket' || !lane) return null
  if (lane === 'queries') return { lane }
  const number = (key: string) => Number(url.searchParams.get(key) ?? Number.NaN)
  const bridgeId = url.searchParams.get('bridgeId') ?? ''
  const wait: EventsWait = { lane: 'events', bridgeId, after: number('after'), limit: number('limit') }
  const valid = wait.bridgeId !== '' && Number.isSafeInteger(wait.after) && Number.isSafeInteger(wait.limit)
  return valid && wait.after >= 0 && wait.limit > 0 ? wait : null
}

/**
 * Object side: accept the Worker's socket for `wait`, unless the lane has something for it
 * already (`ready`): then the Worker polls at once. Call in the same synchronous step as the
 * look that decided `ready`.
 */
export function acceptWait(ctx: DurableObjectState, wait: Wait, ready: boolean): Response {
  if (ready) return new Response(null, { status: 204 })
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket]
  ctx.acceptWebSocket(server, [wait.lane])
  server.serializeAttachment(wait)
  return new Response(null, { status: 101, webSocket: client })
}

/**
 * Object side: answer every wait on `lane` not answered yet, each with what `answer` gives for it
 * (null: "poll again").
 */
export function answerWaiting<W extends Wait>(
  ctx: DurableObjectState,
  lane: W['lane'],
  answer: (wait: W) => unknown,
): void {
  for (const socket of ctx.getWebSockets(lane)) {
    const wait = socket.deserializeAttachment() as W | null
    // Answered already: its Worker is closing it.
    if (!wait) continue
    socket.serializeAttachment(null)
    try {
      socket.send(JSON.stringify(answer(wait)))
    } catch (error) {
      // The socket is closing (its Worker polls anyway) or the answer failed (its Worker polls at
      // its timeout); the append or query that called this must not fail for it.
      console.error(JSON.stringify({ level: 'error', msg: 'a waiting poll was not answered', error: String(error) }))
    }
  }
}
