import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init } from './init.js';

describe('kemu init credentials', () => {
  it('makes a CA and certificates it signed, each for its own key, with the names clients check', async () => {
    const state = mkdtempSync(join(tmpdir(), 'kemu-pki-'));
    try {
      expect((await init({ state, apiserver: '172.28.0.3' })).created).toBe(true);
      const pem = (n: string) => readFileSync(join(state, 'pki', n), 'utf8');
      const ca = new X509Certificate(pem('ca.crt'));
      expect(ca.ca).toBe(true);
      expect(ca.verify(ca.publicKey)).toBe(true);
      for (const name of ['apiserver', 'admin', 'kubelet', 'apiserver-kubelet-client']) {
        const cert = new X509Certificate(pem(`${name}.crt`));
        expect(cert.verify(ca.publicKey), name).toBe(true);
        expect(cert.checkIssued(ca), name).toBe(true);
        expect(cert.checkPrivateKey(createPrivateKey(pem(`${name}.key`))), name).toBe(true);
      }
      const serving = new X509Certificate(pem('apiserver.crt'));
      expect(serving.checkHost('kubernetes.default.svc')).toBe('kubernetes.default.svc');
      expect(serving.checkIP('172.28.0.3')).toBe('172.28.0.3');
      expect(serving.checkIP('10.96.0.1')).toBe('10.96.0.1');
      expect(new X509Certificate(pem('admin.crt')).subject).toContain('O=system:masters');
      // The service account key pair: sa.pub is sa.key's public half.
      expect(createPublicKey(pem('sa.key')).export({ type: 'spki', format: 'pem' })).toBe(pem('sa.pub'));
      // A second init keeps what is there.
      expect((await init({ state, apiserver: '172.28.0.3' })).created).toBe(false);
      expect(new X509Certificate(pem('ca.crt')).fingerprint256).toBe(ca.fingerprint256);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  }, 120_000); // six RSA keys: seconds on a loaded machine
});
