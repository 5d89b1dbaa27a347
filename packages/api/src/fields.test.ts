import { describe, expect, it } from 'vitest';
import { matchesFields, parseFieldSelector } from './fields.js';

describe('field selectors', () => {
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'node-1' }, status: { phase: 'Running' } };
  it.each([
    ['metadata.name=p', true],
    ['metadata.name==p', true],
    ['metadata.name!=p', false],
    ['spec.nodeName=node-1,status.phase=Running', true],
    ['status.phase!=Running', false],
    ['spec.nodeName=', false],
  ])('%s → %s', (sel, want) => {
    expect(matchesFields(parseFieldSelector(sel, 'pods'), pod)).toBe(want);
  });
  it('refuses fields the resource does not support', () => {
    expect(() => parseFieldSelector('spec.nodeName=x', 'configmaps')).toThrow('field label not supported: spec.nodeName');
  });
  it('selects events by involvedObject', () => {
    const ev = { metadata: { name: 'e' }, involvedObject: { kind: 'Pod', name: 'p' } };
    expect(matchesFields(parseFieldSelector('involvedObject.kind=Pod,involvedObject.name=p', 'events'), ev)).toBe(true);
  });
});
