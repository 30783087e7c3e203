import { parse, print } from 'graphql';
import { describe, expect, it } from 'vitest';
import { onlyRootField } from './support/differential.js';

// The differential test re-runs a failing root field alone; the document it makes must parse
// whatever shape the generator chose (fragments on Query included), or the check itself fails.
describe('onlyRootField', () => {
  const query = `query Q($a: Boolean!) {
    one: projects { name }
    ...Rest
    ... on Query { three: apps { name } }
  }
  fragment Rest on Query { two: clusters @skip(if: $a) { name } four: apps @include(if: $a) { name } }`;

  it('skips every other root field, through named and inline fragments, and the result parses', () => {
    const printed = print(onlyRootField(parse(query), 'one'));
    expect(() => parse(printed)).not.toThrow();
    expect(printed).toContain('one: projects {');
    for (const key of ['two: clusters @skip(if: true)', 'three: apps @skip(if: true)', 'four: apps @include(if: $a) @skip(if: true)']) {
      expect(printed).toContain(key);
    }
  });

  it('keeps the field it answers for untouched inside a fragment whose other fields are skipped', () => {
    const printed = print(onlyRootField(parse(query), 'two'));
    expect(printed).toContain('two: clusters @skip(if: $a) {');
    expect(printed).toContain('one: projects @skip(if: true)');
    expect(() => parse(printed)).not.toThrow();
  });
});
