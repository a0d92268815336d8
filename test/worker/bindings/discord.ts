/** The discord door's bindings for the worker tests: its app `ops` and a key pair made for this run. */
import { toBase64 } from '../../../protocol/bytes.ts'

/** Discord ids (snowflakes) of the test's application, guild, people, role and channels. */
export const discordIds = {
  application: '1100000000000000001',
  guild: '1200000000000000001',
  otherGuild: '1200000000000000002',
  /** May deploy and restart (restart needs her confirmation) on staging, hotfix on prod. */
  alice: '1300000000000000001',
  /** A lead: in the approver group, granted nothing to fire. */
  bob: '1300000000000000002',
  /** On call (by role) and a lead: may ask for a rollback, may not approve her own; may ask `whoami` on prod. */
  carol: '1300000000000000003',
  /** Granted nothing. */
  mallory: '1300000000000000004',
  oncallRole: '1400000000000000001',
  stagingChannel: '1500000000000000001',
  /** Commands here go to prod unless they say otherwise. */
  prodChannel: '1500000000000000002',
}

const ids = discordIds
const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair
const publicKey = new Uint8Array((await crypto.subtle.exportKey('raw', pair.publicKey)) as ArrayBuffer)
const privateKey = new Uint8Array((await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer)

export const discordBindings: Record<string, unknown> = {
  DISCORD_APPS: {
    ops: {
      applicationId: ids.application,
      guilds: [ids.guild],
      defaultCluster: 'staging',
      channelClusters: { [ids.prodChannel]: 'prod' },
      grants: [
        { users: [ids.alice], clusters: ['staging'], events: ['deploy', 'restart-*'], confirm: ['restart-*'] },
        { users: [ids.alice], clusters: ['prod'], events: ['hotfix'], announce: ['hotfix'] },
        // A cluster of its own for the follow-up test, whose ack settles everything queued there.
        { users: [ids.alice], clusters: ['big'], events: ['lapse'] },
        {
          roles: [ids.oncallRole],
          clusters: ['staging', 'prod'],
          events: ['rollback'],
          approval: { events: ['rollback'], group: 'leads' },
        },
        { roles: [ids.oncallRole], clusters: ['prod'], queries: ['whoami'] },
      ],
      groups: { leads: [ids.bob, ids.carol] },
    },
  },
  // As the Developer Portal shows it: 32 bytes in hex.
  DISCORD_PUBLIC_KEY_OPS: Array.from(publicKey, (b) => b.toString(16).padStart(2, '0')).join(''),
  TEST_DISCORD: { ids, privateKeyPkcs8: toBase64(privateKey) },
}
