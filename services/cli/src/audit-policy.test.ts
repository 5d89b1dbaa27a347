import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AUDIT_POLICY_FILE, DEFAULT_AUDIT_POLICY, ensureAuditPolicy } from './audit-policy.js';

describe('the cluster audit policy file', () => {
  it('is written once with kemu default, and a policy already there is kept', () => {
    const state = mkdtempSync(join(tmpdir(), 'kemu-audit-'));
    try {
      ensureAuditPolicy(state);
      const file = join(state, AUDIT_POLICY_FILE);
      expect(readFileSync(file, 'utf8')).toBe(DEFAULT_AUDIT_POLICY);
      const policy = parse(DEFAULT_AUDIT_POLICY) as { kind: string; omitStages: string[]; rules: { level: string }[] };
      expect(policy).toMatchObject({ apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'] });
      // The heartbeats dropped, everything else at Metadata.
      expect(policy.rules.map((r) => r.level)).toEqual(['None', 'None', 'None', 'Metadata']);
      writeFileSync(file, 'apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n  - level: None\n');
      ensureAuditPolicy(state);
      expect(readFileSync(file, 'utf8')).toContain('level: None');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
