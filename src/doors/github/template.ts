/**
 * Payload templates of GitHub rules: `{{path.to.field}}` becomes that field of the delivery's
 * JSON, everything else is literal text. No expressions, no code: a template can only copy
 * strings and numbers out of the delivery.
 */

/** A malformed template (at config load) or a field a delivery does not have (at delivery). */
export class TemplateError extends Error {
  override name = 'TemplateError'
}

/** A parsed template: literal text and field paths, in order. */
export interface Template {
  source: string
  parts: (string | { path: string[] })[]
}

const PLACEHOLDER = /\{\{(.*?)\}\}/gs
const FIELD_PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/

/**
 * Parse a template once, when the configuration loads.
 * @example parseTemplate('{{release.tag_name}}')
 * @throws {TemplateError} for a placeholder that is not a field path, or a stray `{{` / `}}`
 */
export function parseTemplate(source: string): Template {
  const parts: Template['parts'] = []
  let at = 0
  const literal = (text: string) => {
    if (text.includes('{{') || text.includes('}}')) {
      throw new TemplateError(`template "${source}" has an unmatched "{{" or "}}"`)
    }
    if (text) parts.push(text)
  }
  for (const match of source.matchAll(PLACEHOLDER)) {
    literal(source.slice(at, match.index))
    const path = match[1]!.trim()
    if (!FIELD_PATH.test(path)) {
      throw new TemplateError(`template "${source}": "${match[0]}" is not a field path such as {{release.tag_name}}`)
    }
    parts.push({ path: path.split('.') })
    at = match.index + match[0].length
  }
  literal(source.slice(at))
  return { source, parts }
}

/** The dotted paths of a template's fields, in order. */
export const templateFields = (template: Template): string[] =>
  template.parts.flatMap((part) => (typeof part === 'string' ? [] : [part.path.join('.')]))

/**
 * Fill a template from a delivery's parsed JSON. Array elements are reached by index
 * (`commits.0.id`).
 * @throws {TemplateError} naming a field that is missing, null, or neither a string nor a number
 */
export function renderTemplate(template: Template, data: unknown): string {
  return template.parts.map((part) => (typeof part === 'string' ? part : fieldText(data, part.path))).join('')
}

function fieldText(data: unknown, path: string[]): string {
  let value = data
  for (const key of path) {
    // Own properties only: `{{constructor.name}}` must not reach into the prototype chain.
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) {
      throw new TemplateError(`field ${path.join('.')} is not in the delivery`)
    }
    value = (value as Record<string, unknown>)[key]
  }
  if (typeof value === 'string') return value
  if (typeof value === 'number') return String(value)
  const kind =
    value === null
      ? 'null'
      : Array.isArray(value)
        ? 'a list'
        : typeof value === 'object'
          ? 'an object'
          : `a ${typeof value}`
  throw new TemplateError(`field ${path.join('.')} is ${kind}, not text or a number`)
}
