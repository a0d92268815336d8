/**
 * How the bridge's signed calls travel: `node:http` and `node:https` with keep-alive agents, in
 * place of the global `fetch`. The first `fetch` in a process loads undici's bundle and compiles
 * its llhttp WebAssembly parser (docs/BENCHMARKS.md, "Bridge footprint and hop": 5 MiB of the
 * bridge's peak RSS and a quarter of its CPU per event); `node:http` uses the llhttp built into
 * Node, which also serves /metrics. Only what {@link EdgeFetch} asks of an answer is implemented.
 */
import type { Agent as HttpAgent, IncomingMessage, RequestOptions } from 'node:http'
import type { EdgeFetch, EdgeFetchInit, EdgeResponse } from '../protocol/edge-request.ts'

/*
 * Not `import … from 'node:http'`: its ES module namespace reads every export, and the lazy
 * `WebSocket` one loads undici after all (about 10 MiB resident). The CommonJS exports do not.
 */
const http = process.getBuiltinModule('node:http')
const httpRequest = http.request

/**
 * Idle connections are closed after 4 s, as undici's are, unless the edge announces a shorter
 * `Keep-Alive: timeout` (the agent honours it): a socket the edge is closing is not reused.
 */
const KEEP_ALIVE = { keepAlive: true, timeout: 4_000 }
const httpAgent = new http.Agent(KEEP_ALIVE)
/** `node:https` (and TLS with it) is loaded on the first https call only. */
let https: { request: typeof httpRequest; agent: HttpAgent } | undefined

function transport(url: URL) {
  if (url.protocol === 'http:') return { request: httpRequest, agent: httpAgent }
  if (url.protocol !== 'https:') throw new TypeError(`unsupported protocol ${url.protocol}`)
  if (!https) {
    const m = process.getBuiltinModule('node:https')
    https = { request: m.request as typeof httpRequest, agent: new m.Agent(KEEP_ALIVE) }
  }
  return https
}

/**
 * One request, resolved once the whole answer body is in; rejects with `init.signal`'s reason when
 * it aborts (as `fetch` does), with the socket's error when the connection fails or is cut.
 * @example const answer = await httpFetch(new URL('https://edge.example/v1/...'), { method: 'POST', headers, body, signal })
 */
export const httpFetch: EdgeFetch = async (url, init) => {
  init.signal.throwIfAborted()
  const { request, agent } = transport(url)
  return new Promise<EdgeResponse>((resolve, reject) => {
    const { signal } = init
    const options: RequestOptions = { method: init.method, headers: withLength(init), agent }
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => {
        settle()
        resolve(answer(res, Buffer.concat(chunks).toString('utf8')))
      })
      res.on('error', fail)
      res.on('close', () => {
        if (!res.complete) fail(new Error('connection closed before the answer was complete'))
      })
    })
    const onAbort = () => req.destroy(signal.reason)
    const settle = () => signal.removeEventListener('abort', onAbort)
    function fail(error: unknown) {
      settle()
      req.destroy()
      reject(signal.aborted ? signal.reason : error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    req.on('error', fail)
    req.end(init.body)
  })
}

function withLength({ headers, body }: EdgeFetchInit): Record<string, string> {
  return body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) }
}

function answer(res: IncomingMessage, text: string): EdgeResponse {
  const status = res.statusCode ?? 0
  return {
    ok: status >= 200 && status <= 299,
    status,
    statusText: res.statusMessage ?? '',
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()]
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value
      },
    },
    text: () => Promise.resolve(text),
  }
}
