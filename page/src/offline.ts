/**
 * What the service worker and the page agree on about the offline shell: the files kept for
 * offline use, the cache of API answers, and the header that marks an answer as coming from that
 * cache rather than from the edge.
 */

/** The shell, relative to the scope (`/app/`): cached when the service worker installs. */
export const SHELL_FILES = [
  './',
  'app.js',
  'app.css',
  'manifest.webmanifest',
  'icons/icon-192.png',
  'icons/icon-512.png',
  'icons/maskable-512.png',
]

/** The last good answer of each cached read (`me`, a cluster's recent events). */
export const API_CACHE = 'serf-edge-api'

/** Prefix of the shell caches; each build's service worker has its own, named by its version. */
export const SHELL_CACHE_PREFIX = 'serf-edge-shell-'

/** Set on an answer the service worker served from its cache: when the edge gave it. */
export const CACHED_AT_HEADER = 'x-serf-edge-cached-at'

/** The reads the service worker answers network-first, keeping the last good answer. */
export const isCachedRead = (path: string): boolean =>
  path === '/app/api/me' || /^\/app\/api\/clusters\/[^/]+\/events$/.test(path)
