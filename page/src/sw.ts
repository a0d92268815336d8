/**
 * The page's service worker (scope /app/): the shell is kept at install and served from the
 * cache, so the page opens without a connection; the reads of the home screen go to the edge
 * first and fall back to their last good answer, marked so the page shows them read-only. Nothing
 * but those GETs is ever cached: a POST (a challenge, a fire) always goes to the edge or fails.
 */
import { API_CACHE, CACHED_AT_HEADER, isCachedRead, SHELL_CACHE_PREFIX, SHELL_FILES } from './offline.ts'

declare const self: ServiceWorkerGlobalScope
/** A hash of the shell's files, set by scripts/build-page.ts: a new build installs a new shell. */
declare const SHELL_VERSION: string

const SHELL_CACHE = `${SHELL_CACHE_PREFIX}${SHELL_VERSION}`
/** When the edge gave a cached answer; kept with it in the cache. */
const STORED_AT = 'x-serf-edge-stored-at'

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE)
      // `reload`: the files of this build, not whatever the HTTP cache holds.
      await cache.addAll(
        SHELL_FILES.map((file) => new Request(new URL(file, self.registration.scope), { cache: 'reload' })),
      )
      await self.skipWaiting()
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(SHELL_CACHE_PREFIX) && name !== SHELL_CACHE) await caches.delete(name)
      }
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const { request } = event
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== self.location.origin) return
  if (isCachedRead(url.pathname)) event.respondWith(networkFirst(request))
  else if (url.pathname.startsWith('/app/api/')) return
  else event.respondWith(shell(request))
})

/** The shell's copy of `request` (the page itself for any navigation), or the network's. */
async function shell(request: Request): Promise<Response> {
  const cache = await caches.open(SHELL_CACHE)
  const cached =
    (await cache.match(request, { ignoreSearch: true })) ??
    (request.mode === 'navigate' ? await cache.match(new URL('./', self.registration.scope).href) : undefined)
  return cached ?? fetch(request)
}

async function networkFirst(request: Request): Promise<Response> {
  const cache = await caches.open(API_CACHE)
  let response: Response
  try {
    response = await fetch(request)
  } catch {
    return (await cachedAnswer(cache, request)) ?? offlineProblem()
  }
  if (response.ok) await cache.put(request, await stamped(response.clone()))
  // The session is over (signed out, expired, revoked): its answers must not outlive it.
  else if (response.status === 401) await caches.delete(API_CACHE)
  return response
}

async function stamped(response: Response): Promise<Response> {
  const headers = new Headers(response.headers)
  headers.set(STORED_AT, new Date().toISOString())
  return new Response(await response.blob(), { status: response.status, headers })
}

async function cachedAnswer(cache: Cache, request: Request): Promise<Response | undefined> {
  const cached = await cache.match(request)
  if (!cached) return undefined
  const headers = new Headers(cached.headers)
  headers.set(CACHED_AT_HEADER, headers.get(STORED_AT) ?? '')
  return new Response(await cached.blob(), { status: cached.status, headers })
}

function offlineProblem(): Response {
  const problem = {
    type: 'urn:serf-edge:problem:offline',
    title: 'Offline',
    status: 503,
    detail: 'The edge cannot be reached and this device has no earlier answer to show.',
  }
  return new Response(JSON.stringify(problem), {
    status: 503,
    headers: { 'content-type': 'application/problem+json' },
  })
}
