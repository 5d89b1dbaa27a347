import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { inClusterConfig } from './rest-client.js';

describe('in-cluster configuration', () => {
  it('comes from KUBERNETES_SERVICE_HOST/PORT and the service account files, as client-go reads them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sa-'));
    try {
      writeFileSync(join(dir, 'ca.crt'), 'CA');
      writeFileSync(join(dir, 'token'), 'T');
      expect(inClusterConfig({}, dir)).toBeUndefined();
      expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir)).toEqual({
        server: 'https://10.96.0.1:443',
        ca: Buffer.from('CA'),
        tokenFile: join(dir, 'token'),
      });
      expect(inClusterConfig({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, dir)?.server).toBe('https://[fd00::1]:443');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
