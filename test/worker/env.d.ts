/** Types of the test environment: the Worker's bindings plus the keys made for this run. */
import type { Env as EdgeEnv } from '../../src/env.ts'

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../../src/index.ts')
      durableNamespaces: 'ClusterQueue'
    }
    interface Env extends EdgeEnv {
      TEST_KEYS: { ci: string[]; chatops: string; bridge: string }
      SENDER_KEYS_CHATOPS: string
      BRIDGE_KEYS_STAGING: string
    }
  }
}
