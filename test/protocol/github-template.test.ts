/** The GitHub door's payload templates on their own: parsing, filling, and what they refuse. */
import { describe, expect, it } from 'vitest'
import { parseTemplate, renderTemplate, TemplateError, templateFields } from '../../src/doors/github/template.ts'

const push = {
  ref: 'refs/heads/main',
  after: 'a'.repeat(40),
  pusher: { name: 'mona' },
  commits: [{ id: 'c0' }, { id: 'c1' }],
  repository: { full_name: 'octo/app', id: 4711, private: false },
  head_commit: null,
}

describe('renderTemplate', () => {
  it.each([
    ['{{after}}', 'a'.repeat(40)],
    ['{{ pusher.name }} pushed {{ref}} to {{repository.full_name}}', 'mona pushed refs/heads/main to octo/app'],
    ['repo #{{repository.id}}', 'repo #4711'],
    ['{{commits.1.id}}', 'c1'],
    ['plain text, {single} braces', 'plain text, {single} braces'],
    ['', ''],
  ])('%j fills in to %j', (source, text) => {
    expect(renderTemplate(parseTemplate(source), push)).toBe(text)
  })

  it.each([
    ['{{release.tag_name}}', 'field release.tag_name is not in the delivery'],
    ['{{head_commit.id}}', 'field head_commit.id is not in the delivery'],
    ['{{head_commit}}', 'field head_commit is null, not text or a number'],
    ['{{pusher}}', 'field pusher is an object, not text or a number'],
    ['{{commits}}', 'field commits is a list, not text or a number'],
    ['{{repository.private}}', 'field repository.private is a boolean, not text or a number'],
    ['{{commits.7.id}}', 'field commits.7.id is not in the delivery'],
    ['{{constructor.name}}', 'field constructor.name is not in the delivery'],
    ['{{ref.length}}', 'field ref.length is not in the delivery'],
  ])('%j refuses: %s', (source, message) => {
    expect(() => renderTemplate(parseTemplate(source), push)).toThrow(new TemplateError(message))
  })
})

describe('parseTemplate', () => {
  it('lists the fields a template reads, in order', () => {
    expect(templateFields(parseTemplate('{{workflow_run.name}}@{{workflow_run.head_sha}} {{after}}'))).toEqual([
      'workflow_run.name',
      'workflow_run.head_sha',
      'after',
    ])
  })

  it.each([
    ['{{after', /unmatched "\{\{" or "\}\}"/],
    ['after}}', /unmatched/],
    ['{{}}', /"\{\{\}\}" is not a field path/],
    ['{{ release tag }}', /is not a field path/],
    ['{{release..tag_name}}', /is not a field path/],
    ['{{process.env["SECRET"]}}', /is not a field path/],
    ['{{a}}{{', /unmatched/],
  ])('%j is malformed', (source, message) => {
    expect(() => parseTemplate(source)).toThrow(message)
  })
})
