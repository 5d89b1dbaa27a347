import { describe, expect, it } from 'vitest';
import { planNode } from './model.js';
import { nftChanges, nftFull, nftState } from './nft.js';
import { allowClients, namespaces, np, pod, pods } from './testing/fixtures.js';

const allow = (name: string, from: string) =>
  np('default', name, { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: from } } }] }] });
const state = (policies = [allow('a', 'client')], all = pods) => nftState(planNode(policies, all, namespaces, 'node-1'));

describe('nftFull (golden)', () => {
  it('replaces the table in one transaction: sets, chains, maps, rules, then the hooked base chains', () => {
    const policies = [
      allowClients,
      np('other', 'dns-only', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }, { protocol: 'SCTP' }] }] }),
    ];
    expect(nftFull(state(policies))).toMatchInlineSnapshot(`
      "add table inet kemu-netpol
      delete table inet kemu-netpol
      add table inet kemu-netpol { comment "kemu NetworkPolicy agent"; }
      add set inet kemu-netpol ingress-peers-default/allow-clients/0 { type ipv4_addr; }
      add element inet kemu-netpol ingress-peers-default/allow-clients/0 { 10.244.2.2 }
      add chain inet kemu-netpol egress-pod-other/client
      add chain inet kemu-netpol egress-policy-other/dns-only
      add chain inet kemu-netpol ingress-pod-default/server
      add chain inet kemu-netpol ingress-policy-default/allow-clients
      add map inet kemu-netpol egress-pods { type ipv4_addr : verdict; }
      add element inet kemu-netpol egress-pods { 10.244.1.3 : jump egress-pod-other/client }
      add map inet kemu-netpol ingress-pods { type ipv4_addr : verdict; }
      add element inet kemu-netpol ingress-pods { 10.244.1.2 : jump ingress-pod-default/server }
      add rule inet kemu-netpol egress-pod-other/client jump egress-policy-other/dns-only comment "policy other/dns-only"
      add rule inet kemu-netpol egress-pod-other/client drop comment "no policy allows this egress of other/client"
      add rule inet kemu-netpol egress-policy-other/dns-only udp dport 53 accept comment "other/dns-only egress rule 0"
      add rule inet kemu-netpol egress-policy-other/dns-only meta l4proto sctp accept comment "other/dns-only egress rule 0"
      add rule inet kemu-netpol ingress-pod-default/server jump ingress-policy-default/allow-clients comment "policy default/allow-clients"
      add rule inet kemu-netpol ingress-pod-default/server drop comment "no policy allows this ingress of default/server"
      add rule inet kemu-netpol ingress-policy-default/allow-clients ip saddr @ingress-peers-default/allow-clients/0 ip daddr 10.244.1.2 tcp dport 8080 accept comment "default/allow-clients ingress rule 0: pod peers"
      add rule inet kemu-netpol ingress-policy-default/allow-clients ip saddr @ingress-peers-default/allow-clients/0 udp dport 9000-9010 accept comment "default/allow-clients ingress rule 0: pod peers"
      add rule inet kemu-netpol ingress-policy-default/allow-clients ip saddr 10.0.0.0/8 ip saddr != { 10.244.2.0/24 } ip daddr 10.244.1.2 tcp dport 8080 accept comment "default/allow-clients ingress rule 0: ipBlock 10.0.0.0/8"
      add rule inet kemu-netpol ingress-policy-default/allow-clients ip saddr 10.0.0.0/8 ip saddr != { 10.244.2.0/24 } udp dport 9000-9010 accept comment "default/allow-clients ingress rule 0: ipBlock 10.0.0.0/8"
      add chain inet kemu-netpol egress-forward { type filter hook forward priority filter; policy accept; }
      add rule inet kemu-netpol egress-forward ct state established,related accept comment "replies and established allowed connections"
      add rule inet kemu-netpol egress-forward ip saddr vmap @egress-pods
      add chain inet kemu-netpol egress-input { type filter hook input priority filter; policy accept; }
      add rule inet kemu-netpol egress-input ct state established,related accept comment "replies and established allowed connections"
      add rule inet kemu-netpol egress-input ip saddr vmap @egress-pods
      add chain inet kemu-netpol ingress-forward { type filter hook forward priority filter; policy accept; }
      add rule inet kemu-netpol ingress-forward ct state established,related accept comment "replies and established allowed connections"
      add rule inet kemu-netpol ingress-forward ip daddr vmap @ingress-pods
      "
    `);
  });

  it('holds only the base chains and empty maps without policies (default allow)', () => {
    const s = state([]);
    expect([...s.chains.keys(), ...s.sets.keys()]).toEqual([]);
    expect([...s.maps.values()].map((m) => m.size)).toEqual([0, 0]);
  });
});

describe('nftChanges', () => {
  it('is empty when nothing changed', () => {
    expect(nftChanges(state(), state())).toBe('');
  });

  it('turns a pod gaining or losing a peer label into set elements, not rules', () => {
    const more = [...pods, pod('default', 'late', '10.244.2.9', 'node-2', { role: 'client' })];
    expect(nftChanges(state(), state(undefined, more))).toBe('add element inet kemu-netpol ingress-peers-default/a/0 { 10.244.2.9 }\n');
    expect(nftChanges(state(undefined, more), state())).toBe('delete element inet kemu-netpol ingress-peers-default/a/0 { 10.244.2.9 }\n');
  });

  it("writes a new policy's chain and set and the pod chain that calls it, nothing else", () => {
    expect(nftChanges(state(), state([allow('a', 'client'), allow('b', 'other')])).split('\n')).toEqual([
      'add set inet kemu-netpol ingress-peers-default/b/0 { type ipv4_addr; }',
      'add chain inet kemu-netpol ingress-policy-default/b',
      'flush chain inet kemu-netpol ingress-pod-default/server',
      'add rule inet kemu-netpol ingress-pod-default/server jump ingress-policy-default/a comment "policy default/a"',
      'add rule inet kemu-netpol ingress-pod-default/server jump ingress-policy-default/b comment "policy default/b"',
      'add rule inet kemu-netpol ingress-pod-default/server drop comment "no policy allows this ingress of default/server"',
      'add rule inet kemu-netpol ingress-policy-default/b ip saddr @ingress-peers-default/b/0 accept comment "default/b ingress rule 0: pod peers"',
      '',
    ]);
  });

  it('removes a pod from its map before deleting its chain, and flushes chains before deleting them', () => {
    expect(nftChanges(state(), state([])).split('\n')).toEqual([
      'delete element inet kemu-netpol ingress-pods { 10.244.1.2 }',
      'flush chain inet kemu-netpol ingress-pod-default/server',
      'flush chain inet kemu-netpol ingress-policy-default/a',
      'delete chain inet kemu-netpol ingress-pod-default/server',
      'delete chain inet kemu-netpol ingress-policy-default/a',
      'delete set inet kemu-netpol ingress-peers-default/a/0',
      '',
    ]);
  });

  it('moves a reused pod address to the new pod chain', () => {
    const moved = pods.map((p) => (p.metadata?.name === 'server' ? pod('default', 'server-2', '10.244.1.2', 'node-1', { app: 'server' }) : p));
    const text = nftChanges(state(), state(undefined, moved));
    expect(text).toContain(
      'delete element inet kemu-netpol ingress-pods { 10.244.1.2 }\nadd element inet kemu-netpol ingress-pods { 10.244.1.2 : jump ingress-pod-default/server-2 }',
    );
    expect(text.indexOf('delete chain inet kemu-netpol ingress-pod-default/server\n')).toBeGreaterThan(
      text.indexOf('add element inet kemu-netpol ingress-pods'),
    );
  });
});
