import type { Env } from '../../src/env.ts'

declare global {
  namespace Cloudflare {
    interface Env extends import('../../src/env.ts').Env {
      TEST_KEYS: { ci: string[]; chatops: string; bridge: string }
    }
  }
}
export type { Env }
