/** Types of the test environment: the Worker's bindings plus the keys made for this run. */
import type { Env as EdgeEnv } from '../../src/env.ts'
import type { discordIds } from './bindings/discord.ts'
import type { slackIds } from './bindings/slack.ts'

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
      GITHUB_WEBHOOK_SECRET_CI: string
      /** The Discord test app's ids and its private key (PKCS#8, base64), to sign interactions. */
      TEST_DISCORD: { ids: typeof discordIds; privateKeyPkcs8: string }
      /** The Slack test app's ids and its signing secret, to sign commands and clicks. */
      TEST_SLACK: { ids: typeof slackIds; secret: string }
    }
  }
}
