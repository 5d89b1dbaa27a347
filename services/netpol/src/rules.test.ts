import { describe, expect, it } from 'vitest';
import { PlanMemo, planNode } from './model.js';
import { buildRules, changedRules, ownChains } from './rules.js';
import { allowClients, namespaces, np, pods } from './testing/fixtures.js';

describe('planNode', () => {
  it('isolates nothing without policies (default allow)', () => {
    const plan = planNode([], pods, namespaces, 'node-1');
    expect(plan.pods).toEqual([]);
    expect(buildRules(plan).text).toBe(
      [
        '*filter',
        ':KEMU-NETPOL - [0:0]',
        '-A KEMU-NETPOL -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies and established allowed connections" -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
  });

  it('ANDs a namespaceSelector and a podSelector in one peer, ORs separate peers', () => {
    const and = planNode(
      [
        np('default', 'and', {
          podSelector: { matchLabels: { app: 'server' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { role: 'client' } } }] }],
        }),
      ],
      pods,
      namespaces,
      'node-1',
    );
    expect(and.policies[0].rules[0].peers).toEqual({ all: false, ips: ['10.244.2.3'], blocks: [] });
    const or = planNode(
      [
        np('default', 'or', {
          podSelector: { matchLabels: { app: 'server' } },
          ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 'a' } } }, { podSelector: { matchLabels: { role: 'client' } } }] }],
        }),
      ],
      pods,
      namespaces,
      'node-1',
    );
    expect(or.policies[0].rules[0].peers).toEqual({ all: false, ips: ['10.244.2.2', '10.244.2.3'], blocks: [] });
  });

  it('resolves a named port against the selected pods, and reports an IPv6 ipBlock instead of programming it', () => {
    const plan = planNode(
      [
        np('default', 'web', {
          podSelector: {},
          ingress: [
            {
              from: [{ ipBlock: { cidr: '2001:db8::/64' } }, { ipBlock: { cidr: '10.244.2.5/16', except: ['10.244.2.0/24'] } }],
              ports: [{ port: 'http', protocol: 'TCP' }],
            },
          ],
        }),
      ],
      pods,
      namespaces,
      'node-1',
    );
    expect(plan.policies[0].rules[0]).toEqual({
      peers: { all: false, ips: [], blocks: [{ cidr: '10.244.0.0/16', except: ['10.244.2.0/24'] }] },
      ports: [{ protocol: 'TCP', port: 8080, ip: '10.244.1.2' }],
    });
    expect(plan.problems).toEqual([
      { policy: 'default/web', message: 'spec.ingress[0].from[0].ipBlock: 2001:db8::/64 is not IPv4 (the pod network is IPv4 only); this peer is skipped' },
    ]);
  });

  it('plans the same with a memo carried over from the last plan of the same pods (a policy added, one replaced)', () => {
    const deny = np('default', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
    const allow = np('default', 'allow', {
      podSelector: { matchLabels: { app: 'server' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { role: 'client' } } }] }],
    });
    const memo = new PlanMemo();
    planNode([deny], pods, namespaces, 'node-1', memo);
    expect(planNode([deny, allow], pods, namespaces, 'node-1', memo)).toEqual(planNode([deny, allow], pods, namespaces, 'node-1'));
    const changed = np('default', 'allow', { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ namespaceSelector: {} }] }] });
    expect(planNode([deny, changed], pods, namespaces, 'node-1', memo)).toEqual(planNode([deny, changed], pods, namespaces, 'node-1'));
  });

  it('plans only the pods of this node', () => {
    const plan = planNode([np('default', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })], pods, namespaces, 'node-2');
    expect(plan.pods.map((p) => `${p.direction} ${p.key}`)).toEqual(['egress default/client', 'ingress default/client']);
    expect(plan.policies.map((p) => p.rules)).toEqual([[], []]);
  });
});

describe('buildRules (golden)', () => {
  it('writes per-pod and per-policy chains, named by the policy', () => {
    const policies = [
      allowClients,
      np('other', 'dns-only', {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            ports: [
              { port: 53, protocol: 'UDP' },
              { port: 53, protocol: 'TCP' },
            ],
          },
        ],
      }),
    ];
    const r = buildRules(planNode(policies, pods, namespaces, 'node-1'), ['KEMU-NP-I-0000000000000000']);
    expect(r.text).toMatchInlineSnapshot(`
      "*filter
      :KEMU-NETPOL - [0:0]
      :KEMU-NP-E-22be94512115aa51 - [0:0]
      :KEMU-NP-I-92fd547c934ffcf9 - [0:0]
      :KEMU-NP-PI-036f6ec8015c0b6d - [0:0]
      :KEMU-NP-R-01589903f2663705 - [0:0]
      :KEMU-NP-B-3421303f96726080 - [0:0]
      :KEMU-NP-PE-9c927315a6f97964 - [0:0]
      :KEMU-NP-I-0000000000000000 - [0:0]
      -A KEMU-NETPOL -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "replies and established allowed connections" -j ACCEPT
      -A KEMU-NETPOL -s 10.244.1.3/32 -m comment --comment "egress of other/client" -j KEMU-NP-E-22be94512115aa51
      -A KEMU-NETPOL -d 10.244.1.2/32 -m comment --comment "ingress of default/server" -j KEMU-NP-I-92fd547c934ffcf9
      -A KEMU-NP-E-22be94512115aa51 -j MARK --set-xmark 0x0/0x10000
      -A KEMU-NP-E-22be94512115aa51 -m comment --comment "policy other/dns-only" -j KEMU-NP-PE-9c927315a6f97964
      -A KEMU-NP-E-22be94512115aa51 -m mark --mark 0x10000/0x10000 -j RETURN
      -A KEMU-NP-E-22be94512115aa51 -m comment --comment "no policy allows this egress of other/client" -j DROP
      -A KEMU-NP-I-92fd547c934ffcf9 -j MARK --set-xmark 0x0/0x10000
      -A KEMU-NP-I-92fd547c934ffcf9 -m comment --comment "policy default/allow-clients" -j KEMU-NP-PI-036f6ec8015c0b6d
      -A KEMU-NP-I-92fd547c934ffcf9 -m mark --mark 0x10000/0x10000 -j RETURN
      -A KEMU-NP-I-92fd547c934ffcf9 -m comment --comment "no policy allows this ingress of default/server" -j DROP
      -A KEMU-NP-R-01589903f2663705 -s 10.244.2.2/32 -m comment --comment "default/allow-clients ingress rule 0: pod peer" -j MARK --set-xmark 0x10000/0x10000
      -A KEMU-NP-R-01589903f2663705 -m comment --comment "default/allow-clients ingress rule 0: ipBlock 10.0.0.0/8" -j KEMU-NP-B-3421303f96726080
      -A KEMU-NP-B-3421303f96726080 -s 10.244.2.0/24 -m comment --comment "default/allow-clients ingress rule 0: except 10.244.2.0/24" -j RETURN
      -A KEMU-NP-B-3421303f96726080 -s 10.0.0.0/8 -m comment --comment "default/allow-clients ingress rule 0: ipBlock 10.0.0.0/8" -j MARK --set-xmark 0x10000/0x10000
      -A KEMU-NP-PI-036f6ec8015c0b6d -d 10.244.1.2/32 -p tcp -m tcp --dport 8080 -m comment --comment "default/allow-clients ingress rule 0" -j KEMU-NP-R-01589903f2663705
      -A KEMU-NP-PI-036f6ec8015c0b6d -p udp -m udp --dport 9000:9010 -m comment --comment "default/allow-clients ingress rule 0" -j KEMU-NP-R-01589903f2663705
      -A KEMU-NP-PE-9c927315a6f97964 -p udp -m udp --dport 53 -m comment --comment "other/dns-only egress rule 0" -j MARK --set-xmark 0x10000/0x10000
      -A KEMU-NP-PE-9c927315a6f97964 -p tcp -m tcp --dport 53 -m comment --comment "other/dns-only egress rule 0" -j MARK --set-xmark 0x10000/0x10000
      -X KEMU-NP-I-0000000000000000
      COMMIT
      "
    `);
    // A chain no longer needed is flushed and deleted in the same restore.
    expect(ownChains(r.text)).toEqual([...r.chains, 'KEMU-NP-I-0000000000000000']);
  });
});

describe('changedRules', () => {
  const allow = (name: string, from: string) =>
    np('default', name, { podSelector: { matchLabels: { app: 'server' } }, ingress: [{ from: [{ podSelector: { matchLabels: { role: from } } }] }] });
  it('writes only the chains a new policy adds or changes, and deletes those it leaves behind', () => {
    const one = buildRules(planNode([allow('a', 'client')], pods, namespaces, 'node-1'));
    expect(changedRules(one, one.contents)).toBe('');
    const two = buildRules(planNode([allow('a', 'client'), allow('b', 'other')], pods, namespaces, 'node-1'));
    const text = changedRules(two, one.contents);
    // The new policy's chains and the server's pod chain that now calls it; not policy a's chains, not KEMU-NETPOL.
    expect(text.split('\n').filter((l) => l.startsWith(':'))).toEqual([
      ':KEMU-NP-I-92fd547c934ffcf9 - [0:0]',
      expect.stringMatching(/^:KEMU-NP-PI-/),
      expect.stringMatching(/^:KEMU-NP-R-/),
    ]);
    expect(text).toContain('"policy default/b"');
    const none = buildRules(planNode([], pods, namespaces, 'node-1'));
    const removal = changedRules(none, two.contents);
    expect(removal.split('\n').filter((l) => l.startsWith('-X'))).toHaveLength(5);
    expect(removal).toContain(':KEMU-NETPOL - [0:0]');
  });
});
