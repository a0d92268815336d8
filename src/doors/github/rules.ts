/** Which of a hook's rules a GitHub delivery matches: event, action, ref, conclusion, repository. */
import type { GithubRule } from './config.ts'

/** A delivery's parsed JSON body; GitHub always sends an object. */
export type DeliveryBody = Record<string, unknown>

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined)
const object = (value: unknown): DeliveryBody =>
  typeof value === 'object' && value !== null ? (value as DeliveryBody) : {}

/**
 * The git ref a delivery is about, as a full ref name so one glob syntax fits every event:
 * a push's `ref`; `refs/tags/<tag_name>` for a release; `refs/heads/<head_branch>` for runs and
 * check suites; a created or deleted branch or tag by its `ref_type`; otherwise a `ref` field.
 */
export function deliveryRef(event: string, body: DeliveryBody): string | undefined {
  switch (event) {
    case 'release': {
      const tag = text(object(body.release).tag_name)
      return tag === undefined ? undefined : `refs/tags/${tag}`
    }
    case 'workflow_run':
    case 'workflow_job':
    case 'check_suite': {
      const branch = text(object(body[event]).head_branch)
      return branch === undefined ? undefined : `refs/heads/${branch}`
    }
    case 'create':
    case 'delete': {
      const ref = text(body.ref)
      return ref === undefined ? undefined : `refs/${body.ref_type === 'tag' ? 'tags' : 'heads'}/${ref}`
    }
    default:
      return text(body.ref)
  }
}

/** The delivery's repository, `owner/name`; org-wide events have none. */
export const deliveryRepository = (body: DeliveryBody): string | undefined => text(object(body.repository).full_name)

/** A push that deletes a branch or tag: it has no commit to deploy, so it fires nothing. */
export const isDeletion = (event: string, body: DeliveryBody): boolean => event === 'push' && body.deleted === true

/** Every rule the delivery matches, in configured order; each of them fires. */
export function matchingRules(rules: readonly GithubRule[], event: string, body: DeliveryBody): GithubRule[] {
  const ref = deliveryRef(event, body)
  const repository = deliveryRepository(body)
  const conclusion = text(object(body[event]).conclusion)
  return rules.filter(
    (rule) =>
      rule.event === event &&
      (rule.action === undefined || rule.action === body.action) &&
      (rule.ref === undefined || (ref !== undefined && rule.ref.test(ref))) &&
      (rule.conclusion === undefined || rule.conclusion === conclusion) &&
      (rule.repository === undefined || (repository !== undefined && rule.repository.test(repository))),
  )
}
