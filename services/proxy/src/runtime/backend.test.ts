import { describe, expect, it } from 'vitest';
import { chooseBackend, detectBackend, iptablesTools } from './backend.js';
import type { Exec } from './exec.js';

const RULES = '*nat\n:PREROUTING ACCEPT [0:0]\n:KEMU-MASQ - [0:0]\n-A POSTROUTING -s 10.244.1.0/24 -j KEMU-MASQ\n-A KEMU-MASQ -j MASQUERADE\nCOMMIT\n';
const HINT = '*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n';

describe('the iptables backend, as iptables-wrapper chooses it', () => {
  it('takes the one holding the kubelet hint chain, else the one holding more rules, nft on an empty node', () => {
    expect(chooseBackend({ legacy: HINT, nft: RULES })).toBe('legacy');
    expect(chooseBackend({ legacy: '', nft: HINT })).toBe('nft');
    expect(chooseBackend({ legacy: RULES, nft: '' })).toBe('legacy');
    expect(chooseBackend({ legacy: '', nft: RULES })).toBe('nft');
    expect(chooseBackend({ legacy: '', nft: '' })).toBe('nft');
  });

  it('reads both listings; a backend that is not installed lists nothing', async () => {
    const exec: Exec = (cmd) =>
      Promise.resolve(cmd === 'iptables-legacy-save' ? { code: 0, stdout: RULES, stderr: '' } : { code: 127, stdout: '', stderr: 'not found' });
    expect(await detectBackend(exec)).toBe('legacy');
  });

  it("runs the backend's own commands, or the host's iptables without one", () => {
    expect(iptablesTools('legacy')).toEqual({ iptables: 'iptables-legacy', save: 'iptables-legacy-save', restore: 'iptables-legacy-restore' });
    expect(iptablesTools().restore).toBe('iptables-restore');
  });
});
