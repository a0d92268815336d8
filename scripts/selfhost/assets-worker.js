// serf-edge, self-hosted: the on-call page's files for the edge's ASSETS binding, served the way
// Workers static assets serve them (a folder's index.html at its trailing-slash URL, a redirect
// from …/index.html, a Content-Type by extension, 404 for anything else, no directory listings).
// workerd's disk service underneath serves bytes only. Copied beside the generated config by
// `npm run build:selfhost`.

const TYPES = {
  css: 'text/css; charset=utf-8',
  html: 'text/html; charset=utf-8',
  ico: 'image/x-icon',
  js: 'text/javascript; charset=utf-8',
  json: 'application/json',
  map: 'application/json',
  png: 'image/png',
  svg: 'image/svg+xml',
  txt: 'text/plain; charset=utf-8',
  webmanifest: 'application/manifest+json',
  woff2: 'font/woff2',
}

const notFound = () => new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain' } })

export default {
  async fetch(request, env) {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return new Response('Method Not Allowed', { status: 405, headers: { allow: 'GET, HEAD' } })
    }
    const url = new URL(request.url)
    let path = decodeURIComponent(url.pathname)
    if (path.split('/').some((part) => part.startsWith('.'))) return notFound()
    if (path.endsWith('/index.html')) {
      return new Response(null, { status: 307, headers: { location: path.slice(0, -'index.html'.length) } })
    }
    if (path.endsWith('/')) path += 'index.html'
    const file = await env.FILES.fetch(new URL(path, 'http://files/'), { method: request.method })
    // A folder answers with a JSON listing and no length: not a file of the page.
    if (!file.ok || file.headers.get('content-length') === null) return notFound()
    const extension = path.slice(path.lastIndexOf('.') + 1).toLowerCase()
    return new Response(file.body, {
      status: 200,
      headers: {
        'content-type': TYPES[extension] ?? 'application/octet-stream',
        'content-length': file.headers.get('content-length'),
      },
    })
  },
}
