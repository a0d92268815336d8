/**
 * No code generation in zod: under `script-src 'self'` even its probe for `new Function` is
 * reported as a violation, although it is caught. Imported first by main.ts, because building
 * a schema (protocol/page.ts does at import) already probes.
 */
import { z } from 'zod'

z.config({ jitless: true })
