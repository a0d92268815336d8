/** The on-call page's script: registers the service worker (offline shell) and starts the page. */
import './jitless.ts'
import { App } from './app.ts'

if ('serviceWorker' in navigator) {
  // The page works without it (no offline shell), so a refusal is only logged.
  navigator.serviceWorker.register('/app/sw.js', { scope: '/app/' }).catch((error: unknown) => {
    console.warn('service worker not registered:', error)
  })
}

new App().start()
