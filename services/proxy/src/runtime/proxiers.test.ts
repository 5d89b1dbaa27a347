import { describe, expect, it } from 'vitest';
import { buildModel } from '../model/from-k8s.js';
import { IPTABLES_BASE, declareChains, makeService, makeSlice } from '../testing/fixtures.js';
import type { NodeFacts } from '../model/types.js';
import type { Exec, ExecResult } from './exec.js';
import { IptablesProxier, NftablesProxier, cleanupIptables } from './proxiers.js';
import { hasJump, iptablesCleanupInput, parseIptablesSave, parseNftTable } from './kernel.js';

const node: NodeFacts = { nodeName: 'node-1', nodeIP: '172.22.1.1', localDetector: { mode: 'ClusterCIDR', cidr: '10.244.0.0/16' } };
const svc = (name: string, ip: string) => makeService('ns', name, { clusterIP: ip, ports: [{ port: 80, protocol: 'TCP' }] });
const slice = (name: string, ips: string[]) =>
  makeSlice(
    'ns',
    name,
    1,
    ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    [{ port: 8080 }],
  );

/** A fake of the tools: answers iptables-save with `saved`, records every call, fails restores while `failRestore`. */
function fakeKernel(saved = '') {
  const calls: { cmd: string; args: readonly string[]; input?: string }[] = [];
  const state = { saved, failRestore: false, canaries: true };
  const answer = (cmd: string, args: readonly string[]): ExecResult => {
    if (cmd === 'iptables-save') return { code: 0, stdout: state.saved, stderr: '' };
    if (cmd === 'iptables' && args.includes('-S') && !state.canaries)
      return { code: 1, stdout: '', stderr: "iptables: chain 'KUBE-PROXY-CANARY' does not exist" };
    if (cmd === 'iptables-restore' && state.failRestore) return { code: 1, stdout: '', stderr: 'iptables-restore: line 7 failed' };
    return { code: 0, stdout: '', stderr: '' };
  };
  const exec: Exec = (cmd, args, input) => {
    calls.push({ cmd, args, ...(input === undefined ? {} : { input }) });
    return Promise.resolve(answer(cmd, args));
  };
  return { exec, calls, state, restores: () => calls.filter((c) => c.cmd === 'iptables-restore').map((c) => c.input ?? '') };
}

/** iptables-save after a sync by an earlier kube-proxy whose Service is gone (its chains are stale). */
const SAVED_AFTER_SYNC = `*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-PROXY-CANARY - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-PROXY-CANARY - [0:0]
${declareChains(IPTABLES_BASE.filterChains).join('\n')}
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KEMU-MASQ - [0:0]
:KUBE-PROXY-CANARY - [0:0]
${declareChains(IPTABLES_BASE.natChains).join('\n')}
:KUBE-SVC-GONE0000000000000 - [0:0]
:KUBE-SEP-GONE0000000000000 - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -s 10.244.1.0/24 ! -d 10.244.0.0/16 -j KEMU-MASQ
-A KEMU-MASQ -j MASQUERADE
-A KUBE-SVC-GONE0000000000000 -j KUBE-SEP-GONE0000000000000
COMMIT
`;

describe('IptablesProxier', () => {
  const m1 = buildModel([svc('a', '10.96.0.10'), svc('b', '10.96.0.11')], [slice('a', ['10.244.1.2']), slice('b', ['10.244.2.2'])]);
  const m2 = buildModel([svc('a', '10.96.0.10'), svc('b', '10.96.0.11')], [slice('a', ['10.244.1.2', '10.244.1.3']), slice('b', ['10.244.2.2'])]);

  it('starts with a full sync: reads the kernel, hooks the built-in chains, one iptables-restore --noflush --counters', async () => {
    const k = fakeKernel();
    const r = await new IptablesProxier(k.exec).sync(m1, node, false);
    expect(r.full).toBe(true);
    expect(k.calls[0]?.cmd).toBe('iptables-save');
    const inserts = k.calls.filter((c) => c.cmd === 'iptables' && c.args.includes('-I'));
    expect(inserts.map((c) => `${c.args[3]} ${c.args[4]} ${c.args[5]} -> ${c.args.at(-1)}`)).toContain('nat -I PREROUTING -> KUBE-SERVICES');
    expect(k.calls.at(-1)?.args).toEqual(['-w', '5', '--noflush', '--counters']);
    expect(k.restores()).toHaveLength(1);
    expect(r.ruleCounts?.nat).toBeGreaterThan(0);
  });

  it('then writes only the chains of the Services that changed', async () => {
    const k = fakeKernel();
    const p = new IptablesProxier(k.exec);
    await p.sync(m1, node, false);
    const r = await p.sync(m2, node, false);
    expect(r).toMatchObject({ full: false, changed: 1 });
    expect(k.calls.filter((c) => c.cmd === 'iptables-save')).toHaveLength(1);
    const partial = k.restores()[1];
    expect(partial).toContain('"ns/a -> 10.244.1.3:8080"');
    expect(partial).not.toContain('"ns/b -> 10.244.2.2:8080"');
    // KUBE-SERVICES and the filter chains hold what they held: they are not rewritten.
    expect(partial).not.toContain(':KUBE-SERVICES');
    expect(partial).not.toContain('*filter');
    expect(r.ruleCounts).toEqual((await new IptablesProxier(fakeKernel().exec).sync(m2, node, true)).ruleCounts);
  });

  it('rewrites KUBE-SERVICES when a Service comes or goes, and restores nothing when no rule changed', async () => {
    const k = fakeKernel();
    const p = new IptablesProxier(k.exec);
    await p.sync(m1, node, false);
    const m3 = buildModel([svc('a', '10.96.0.10')], [slice('a', ['10.244.1.2'])]);
    await p.sync(m3, node, false);
    expect(k.restores()[1]).toContain(':KUBE-SERVICES');
    expect(k.restores()[1]).not.toContain('-d 10.96.0.11');
    await p.sync(m3, node, false);
    expect(k.restores()).toHaveLength(2);
  });

  it('keeps a canary chain in mangle, nat and filter: one gone means the rules were removed behind its back', async () => {
    const k = fakeKernel();
    const p = new IptablesProxier(k.exec);
    await p.sync(m1, node, false);
    const created = k.calls.filter((c) => c.cmd === 'iptables' && c.args.includes('KUBE-PROXY-CANARY')).map((c) => c.args.slice(2, 4).join(' '));
    expect(created).toEqual(['-t mangle', '-t nat', '-t filter']);
    expect(await p.rulesLost()).toBe(false);
    k.state.canaries = false;
    expect(await p.rulesLost()).toBe(true);
  });

  it('a full sync of a kernel it knows rewrites everything without reading it back; a lost canary makes it read again', async () => {
    const k = fakeKernel();
    const p = new IptablesProxier(k.exec);
    await p.sync(m1, node, false);
    const r = await p.sync(m2, node, true);
    expect(r.full).toBe(true);
    expect(k.calls.filter((c) => c.cmd === 'iptables-save')).toHaveLength(1);
    expect(k.restores()[1]).toContain(':KUBE-SERVICES');
    const fresh = fakeKernel();
    await new IptablesProxier(fresh.exec).sync(m2, node, true);
    expect(k.restores()[1]).toBe(fresh.restores()[0]);
    k.state.canaries = false;
    expect(await p.rulesLost()).toBe(true);
    await p.sync(m2, node, true);
    expect(k.calls.filter((c) => c.cmd === 'iptables-save')).toHaveLength(2);
  });

  it('runs the chosen backend: iptables-legacy-save and iptables-legacy-restore', async () => {
    const k = fakeKernel();
    await new IptablesProxier(k.exec, {}, 'legacy').sync(m1, node, false);
    expect(new Set(k.calls.map((c) => c.cmd))).toEqual(new Set(['iptables-legacy-save', 'iptables-legacy', 'iptables-legacy-restore']));
  });

  it('after a failed restore, throws and makes the next sync full', async () => {
    const k = fakeKernel();
    const p = new IptablesProxier(k.exec);
    await p.sync(m1, node, false);
    k.state.failRestore = true;
    await expect(p.sync(m2, node, false)).rejects.toThrow(/iptables-restore .* exited with 1: iptables-restore: line 7 failed/);
    k.state.failRestore = false;
    const r = await p.sync(m2, node, false);
    expect(r.full).toBe(true);
    expect(k.calls.filter((c) => c.cmd === 'iptables-save')).toHaveLength(2);
  });

  it('after a restart, deletes the stale chains it finds and inserts no jump twice', async () => {
    const k = fakeKernel(SAVED_AFTER_SYNC);
    await new IptablesProxier(k.exec).sync(m1, node, false);
    expect(k.calls.filter((c) => c.cmd === 'iptables')).toEqual([]);
    const text = k.restores()[0];
    expect(text).toContain('-X KUBE-SVC-GONE0000000000000');
    expect(text).toContain('-X KUBE-SEP-GONE0000000000000');
  });
});

describe('NftablesProxier', () => {
  const LISTING = 'table ip nat {\n\tchain KEMU-MASQ {\n\t}\n}\ntable ip kube-proxy {\n\tchain service-AAAAAAAA-ns/gone/tcp/p80 {\n\t}\n}\n';
  /** A fake nft: lists LISTING, fails `nft -f` while `failWrite`, answers `list tables` with `tables`. */
  function fakeNft() {
    const calls: { args: readonly string[]; input?: string }[] = [];
    const state = { failWrite: false, tables: 'table ip nat\ntable ip kube-proxy\n' };
    const exec: Exec = (_cmd, args, input) => {
      calls.push({ args, ...(input === undefined ? {} : { input }) });
      if (args[0] === '-f' && state.failWrite) return Promise.resolve({ code: 1, stdout: '', stderr: 'Error: Could not process rule' });
      const stdout = args.join(' ') === 'list tables ip' ? state.tables : args.includes('list') ? LISTING : '';
      return Promise.resolve({ code: 0, stdout, stderr: '' });
    };
    return { exec, calls, state, writes: () => calls.filter((c) => c.args[0] === '-f').map((c) => c.input ?? '') };
  }
  const m1 = buildModel([svc('a', '10.96.0.10'), svc('b', '10.96.0.11')], [slice('a', ['10.244.1.2']), slice('b', ['10.244.2.2'])]);
  const m2 = buildModel([svc('a', '10.96.0.10'), svc('b', '10.96.0.11')], [slice('a', ['10.244.1.3']), slice('b', ['10.244.2.2'])]);

  it('starts with a full transaction that flushes the stale chains it finds; a sync 1 s later deletes them, in its one transaction', async () => {
    const k = fakeNft();
    let now = 0;
    const p = new NftablesProxier(k.exec, {}, () => now);
    expect(await p.sync(m1, node, false)).toEqual({ full: true, deletedChains: 0, resyncInMs: 1000 });
    expect(k.calls.map((c) => c.args.join(' '))).toEqual(['list chains ip', '-t list sets ip', '-f -']);
    expect(k.calls[2]?.input).toContain('flush chain ip kube-proxy service-AAAAAAAA-ns/gone/tcp/p80');
    expect(k.calls[2]?.input).toContain('flush map ip kube-proxy service-ips');
    expect(k.calls[2]?.input).not.toContain('delete chain');
    now = 1000;
    expect(await p.sync(m1, node, false)).toEqual({ full: false, changed: 0, deletedChains: 1 });
    expect(k.writes()[1]).toBe('delete chain ip kube-proxy service-AAAAAAAA-ns/gone/tcp/p80\n');
  });

  it('then rewrites only the chains of the Services that changed, without listing the table', async () => {
    const k = fakeNft();
    let now = 0;
    const p = new NftablesProxier(k.exec, {}, () => now);
    await p.sync(m1, node, false);
    now = 100;
    // The chain flushed at 0 is due at 1000.
    expect(await p.sync(m2, node, false)).toEqual({ full: false, changed: 1, deletedChains: 0, resyncInMs: 900 });
    expect(k.calls.filter((c) => c.args.includes('list'))).toHaveLength(2);
    const partial = k.writes()[1];
    expect(partial).toContain('dnat to 10.244.1.3:8080');
    expect(partial).not.toContain('10.244.2.2');
    expect(partial).not.toContain('add table');
    expect(partial).not.toMatch(/^add (rule|element) /m);
    expect(partial).toMatch(/^flush chain ip kube-proxy endpoint-\S+__10\.244\.1\.2\/8080$/m);
    now = 1100;
    expect(await p.sync(m2, node, false)).toEqual({ full: false, changed: 0, deletedChains: 2 });
    expect(k.writes()[2]).toMatch(/^delete chain ip kube-proxy endpoint-\S+__10\.244\.1\.2\/8080$/m);
    // Nothing changed, nothing waiting: nothing written.
    await p.sync(m2, node, false);
    expect(k.writes()).toHaveLength(3);
  });

  it('after a failed transaction, throws and makes the next sync full, reading the table again', async () => {
    const k = fakeNft();
    const p = new NftablesProxier(k.exec);
    await p.sync(m1, node, false);
    k.state.failWrite = true;
    await expect(p.sync(m2, node, false)).rejects.toThrow(/nft -f - exited with 1: Error: Could not process rule/);
    k.state.failWrite = false;
    expect((await p.sync(m2, node, false)).full).toBe(true);
    expect(k.calls.filter((c) => c.args.join(' ') === 'list chains ip')).toHaveLength(2);
  });

  it('finds the table gone (nft flush ruleset): the next sync is full, and forgets the chains it meant to delete', async () => {
    const k = fakeNft();
    let now = 0;
    const p = new NftablesProxier(k.exec, {}, () => now);
    await p.sync(m1, node, false);
    expect(await p.rulesLost()).toBe(false);
    k.state.tables = 'table ip nat\n';
    expect(await p.rulesLost()).toBe(true);
    now = 5000;
    expect((await p.sync(m1, node, false)).full).toBe(true);
    expect(p.periodicFullSync).toBe(false);
    // It flushes what the table holds now (here the fake lists it again) instead of deleting chains that may be gone.
    expect(k.writes()[1]).not.toContain('delete chain');
    expect(k.writes()[1]).toContain('flush chain ip kube-proxy service-AAAAAAAA-ns/gone/tcp/p80');
  });
});

describe('the kernel as iptables-save shows it', () => {
  const saved = parseIptablesSave(SAVED_AFTER_SYNC);
  it('finds jumps by chain and target', () => {
    expect(hasJump(saved, 'nat', 'PREROUTING', 'KUBE-SERVICES')).toBe(true);
    expect(hasJump(saved, 'nat', 'POSTROUTING', 'KEMU-MASQ')).toBe(true);
    expect(hasJump(saved, 'filter', 'INPUT', 'KUBE-SERVICES')).toBe(false);
  });
  it('cleans up every kube-proxy chain and jump, and nothing of the kubelet', async () => {
    const input = iptablesCleanupInput(saved);
    expect(input).toContain('-D PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(input).toContain('-D INPUT -j KUBE-FIREWALL');
    expect(input).toContain('-X KUBE-SEP-GONE0000000000000');
    expect(input).not.toContain('KEMU-MASQ');
    // Flush (declare) before the -D and -X lines of the same table.
    const nat = input.slice(input.indexOf('*nat'));
    expect(nat.indexOf(':KUBE-SVC-GONE0000000000000')).toBeLessThan(nat.indexOf('-D PREROUTING'));
    expect(nat.indexOf('-D PREROUTING')).toBeLessThan(nat.indexOf('-X KUBE-SERVICES'));
    expect(iptablesCleanupInput(parseIptablesSave('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n'))).toBe('');
    const k = fakeKernel(SAVED_AFTER_SYNC);
    expect(await cleanupIptables(k.exec)).toBe(15);
  });
  it('reads chains and sets of an nft table', () => {
    expect(parseNftTable('table ip kube-proxy {\n\tset cluster-ips {\n\t}\n\tmap service-ips {\n\t}\n\tchain services {\n\t}\n}\n')).toEqual({
      chains: ['services'],
      sets: ['cluster-ips'],
    });
  });
});
