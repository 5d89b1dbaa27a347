import { describe, expect, it } from 'vitest';
import { MAX_JSON_PATCH_OPERATIONS, parsePatch } from './patch.js';

describe('patch bodies', () => {
  const ops = (n: number) => JSON.stringify(Array.from({ length: n }, (_, i) => ({ op: 'add', path: `/metadata/labels/l${i}`, value: 'x' })));

  it('takes a JSON patch of 10,000 operations', () => {
    expect(parsePatch('application/json-patch+json', ops(MAX_JSON_PATCH_OPERATIONS))).toHaveLength(10_000);
  });

  it("refuses 10,001 with kube-apiserver's 413", () => {
    try {
      parsePatch('application/json-patch+json', ops(10_001));
      expect.unreachable();
    } catch (e) {
      const s = (e as { status: { code: number; reason: string; message: string } }).status;
      expect(s).toMatchObject({ code: 413, reason: 'RequestEntityTooLarge' });
      expect(s.message).toBe('Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001');
    }
  });

  it('reads server-side apply bodies as JSON or YAML', () => {
    expect(parsePatch('application/apply-patch+yaml', 'kind: ConfigMap\n')).toEqual({ kind: 'ConfigMap' });
    expect(parsePatch('application/apply-patch+yaml', '{"kind":"ConfigMap"}')).toEqual({ kind: 'ConfigMap' });
  });
});
