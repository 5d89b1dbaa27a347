/**
 * Golden rulesets in the order kemu writes them (kube-proxy's rules, with Services
 * sorted by name, per-service chains declared in descending name order, their rules before the KUBE-SERVICES rules
 * that lead to them): a full sync of everyday Services, then a partial sync after one
 * Service lost an endpoint and another was deleted. Each was checked by loading it
 * with iptables-restore in a scratch network namespace.
 */
import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { buildModel } from '../model/from-k8s.js';
import { IptablesRuleMemo, buildIptablesRules, probability } from './ruleset.js';
import { buildPartialIptablesRules, changedServices } from './partial.js';
import { iptablesJumps, jumpRuleArgs } from './jumps.js';
import { iptablesGolden } from '../testing/fixtures.js';
import { KEMU_NODE, TEST_NODE, kemuScenario, overallScenario } from '../testing/scenarios.js';

/** The filter rules of the everyday Services, the same before and after the change (a partial sync rewrites them all). */
const FILTER = `
      -A KUBE-SERVICES -m comment --comment "default/internal:http has no local endpoints" -m tcp -p tcp -d 10.96.40.4 --dport 80 -j DROP
    `;

const FULL = iptablesGolden({
  filter: FILTER,
  natChains: `
      :KUBE-SVC-Y7EDZEKK3VQEVH55 - [0:0]
      :KUBE-SEP-ITZHLQPYZDWBGLCB - [0:0]
      :KUBE-EXT-QUMPV5Z3SF2IMFUJ - [0:0]
      :KUBE-SVC-QUMPV5Z3SF2IMFUJ - [0:0]
      :KUBE-SVL-QUMPV5Z3SF2IMFUJ - [0:0]
      :KUBE-SEP-HYNUWRIEHJNEW6ZI - [0:0]
      :KUBE-SEP-ZLSMBFEPPUCSUGXG - [0:0]
      :KUBE-SVC-T2ECBIYT2WDZZK45 - [0:0]
      :KUBE-SEP-4BLWBM5IJOLWVP2M - [0:0]
      :KUBE-SEP-LMFL3UCTFWBOEFPN - [0:0]
      :KUBE-SVC-LOLE4ISW44XBNF3G - [0:0]
      :KUBE-SEP-XQWD6PXGZUTOOIVQ - [0:0]
      :KUBE-SEP-CBPCTALQVABL5M2H - [0:0]
      :KUBE-SEP-I2YZ2ZJGX6XNOQ3T - [0:0]
      :KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]
      :KUBE-SEP-TCIZBYBD3WWXNWF5 - [0:0]
      :KUBE-SVC-ERIFXISQEP7F7OF4 - [0:0]
      :KUBE-SEP-H7FN6LU3RSH6CC2T - [0:0]
    `,
  nat: `
      -A KUBE-SERVICES -m comment --comment "default/draining:http cluster IP" -m tcp -p tcp -d 10.96.50.5 --dport 80 -j KUBE-SVC-Y7EDZEKK3VQEVH55
      -A KUBE-SVC-Y7EDZEKK3VQEVH55 -m comment --comment "default/draining:http cluster IP" -m tcp -p tcp -d 10.96.50.5 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-Y7EDZEKK3VQEVH55 -m comment --comment "default/draining:http -> 10.244.3.11:80" -j KUBE-SEP-ITZHLQPYZDWBGLCB
      -A KUBE-SEP-ITZHLQPYZDWBGLCB -m comment --comment default/draining:http -s 10.244.3.11 -j KUBE-MARK-MASQ
      -A KUBE-SEP-ITZHLQPYZDWBGLCB -m comment --comment default/draining:http -m tcp -p tcp -j DNAT --to-destination 10.244.3.11:80
      -A KUBE-SERVICES -m comment --comment "default/np:http cluster IP" -m tcp -p tcp -d 10.96.30.3 --dport 8080 -j KUBE-SVC-QUMPV5Z3SF2IMFUJ
      -A KUBE-NODEPORTS -m comment --comment default/np:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-QUMPV5Z3SF2IMFUJ
      -A KUBE-SVC-QUMPV5Z3SF2IMFUJ -m comment --comment "default/np:http cluster IP" -m tcp -p tcp -d 10.96.30.3 --dport 8080 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-EXT-QUMPV5Z3SF2IMFUJ -m comment --comment "pod traffic for default/np:http external destinations" -s 10.244.0.0/16 -j KUBE-SVC-QUMPV5Z3SF2IMFUJ
      -A KUBE-EXT-QUMPV5Z3SF2IMFUJ -m comment --comment "masquerade LOCAL traffic for default/np:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
      -A KUBE-EXT-QUMPV5Z3SF2IMFUJ -m comment --comment "route LOCAL traffic for default/np:http external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-QUMPV5Z3SF2IMFUJ
      -A KUBE-EXT-QUMPV5Z3SF2IMFUJ -j KUBE-SVL-QUMPV5Z3SF2IMFUJ
      -A KUBE-SVC-QUMPV5Z3SF2IMFUJ -m comment --comment "default/np:http -> 10.244.1.7:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-HYNUWRIEHJNEW6ZI
      -A KUBE-SVC-QUMPV5Z3SF2IMFUJ -m comment --comment "default/np:http -> 10.244.2.9:8080" -j KUBE-SEP-ZLSMBFEPPUCSUGXG
      -A KUBE-SVL-QUMPV5Z3SF2IMFUJ -m comment --comment "default/np:http -> 10.244.1.7:8080" -j KUBE-SEP-HYNUWRIEHJNEW6ZI
      -A KUBE-SEP-HYNUWRIEHJNEW6ZI -m comment --comment default/np:http -s 10.244.1.7 -j KUBE-MARK-MASQ
      -A KUBE-SEP-HYNUWRIEHJNEW6ZI -m comment --comment default/np:http -m tcp -p tcp -j DNAT --to-destination 10.244.1.7:8080
      -A KUBE-SEP-ZLSMBFEPPUCSUGXG -m comment --comment default/np:http -s 10.244.2.9 -j KUBE-MARK-MASQ
      -A KUBE-SEP-ZLSMBFEPPUCSUGXG -m comment --comment default/np:http -m tcp -p tcp -j DNAT --to-destination 10.244.2.9:8080
      -A KUBE-SERVICES -m comment --comment "default/sticky:http cluster IP" -m tcp -p tcp -d 10.96.20.1 --dport 80 -j KUBE-SVC-T2ECBIYT2WDZZK45
      -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http cluster IP" -m tcp -p tcp -d 10.96.20.1 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.1.6:80" -m recent --name KUBE-SEP-4BLWBM5IJOLWVP2M --rcheck --seconds 300 --reap -j KUBE-SEP-4BLWBM5IJOLWVP2M
      -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.2.8:80" -m recent --name KUBE-SEP-LMFL3UCTFWBOEFPN --rcheck --seconds 300 --reap -j KUBE-SEP-LMFL3UCTFWBOEFPN
      -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.1.6:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-4BLWBM5IJOLWVP2M
      -A KUBE-SVC-T2ECBIYT2WDZZK45 -m comment --comment "default/sticky:http -> 10.244.2.8:80" -j KUBE-SEP-LMFL3UCTFWBOEFPN
      -A KUBE-SEP-4BLWBM5IJOLWVP2M -m comment --comment default/sticky:http -s 10.244.1.6 -j KUBE-MARK-MASQ
      -A KUBE-SEP-4BLWBM5IJOLWVP2M -m comment --comment default/sticky:http -m recent --name KUBE-SEP-4BLWBM5IJOLWVP2M --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.6:80
      -A KUBE-SEP-LMFL3UCTFWBOEFPN -m comment --comment default/sticky:http -s 10.244.2.8 -j KUBE-MARK-MASQ
      -A KUBE-SEP-LMFL3UCTFWBOEFPN -m comment --comment default/sticky:http -m recent --name KUBE-SEP-LMFL3UCTFWBOEFPN --set -m tcp -p tcp -j DNAT --to-destination 10.244.2.8:80
      -A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.12.34 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.12.34 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.5:8080" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-XQWD6PXGZUTOOIVQ
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.7:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-CBPCTALQVABL5M2H
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.3.2:8080" -j KUBE-SEP-I2YZ2ZJGX6XNOQ3T
      -A KUBE-SEP-XQWD6PXGZUTOOIVQ -m comment --comment default/web -s 10.244.1.5 -j KUBE-MARK-MASQ
      -A KUBE-SEP-XQWD6PXGZUTOOIVQ -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080
      -A KUBE-SEP-CBPCTALQVABL5M2H -m comment --comment default/web -s 10.244.2.7 -j KUBE-MARK-MASQ
      -A KUBE-SEP-CBPCTALQVABL5M2H -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.7:8080
      -A KUBE-SEP-I2YZ2ZJGX6XNOQ3T -m comment --comment default/web -s 10.244.3.2 -j KUBE-MARK-MASQ
      -A KUBE-SEP-I2YZ2ZJGX6XNOQ3T -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.3.2:8080
      -A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
      -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-TCOU7JCQXEZGVUNU -m comment --comment "kube-system/kube-dns:dns -> 10.244.2.2:53" -j KUBE-SEP-TCIZBYBD3WWXNWF5
      -A KUBE-SEP-TCIZBYBD3WWXNWF5 -m comment --comment kube-system/kube-dns:dns -s 10.244.2.2 -j KUBE-MARK-MASQ
      -A KUBE-SEP-TCIZBYBD3WWXNWF5 -m comment --comment kube-system/kube-dns:dns -m udp -p udp -j DNAT --to-destination 10.244.2.2:53
      -A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
      -A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-ERIFXISQEP7F7OF4 -m comment --comment "kube-system/kube-dns:dns-tcp -> 10.244.2.2:53" -j KUBE-SEP-H7FN6LU3RSH6CC2T
      -A KUBE-SEP-H7FN6LU3RSH6CC2T -m comment --comment kube-system/kube-dns:dns-tcp -s 10.244.2.2 -j KUBE-MARK-MASQ
      -A KUBE-SEP-H7FN6LU3RSH6CC2T -m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 10.244.2.2:53
    `,
});

/** Chains of the deleted Service, and of the endpoint that went, that the partial sync removes. */
const DELETED = ['KUBE-SEP-4BLWBM5IJOLWVP2M', 'KUBE-SEP-I2YZ2ZJGX6XNOQ3T', 'KUBE-SEP-LMFL3UCTFWBOEFPN', 'KUBE-SVC-T2ECBIYT2WDZZK45'];

const PARTIAL = iptablesGolden({
  filter: FILTER,
  deleted: DELETED,
  nat: `
      -A KUBE-SERVICES -m comment --comment "default/draining:http cluster IP" -m tcp -p tcp -d 10.96.50.5 --dport 80 -j KUBE-SVC-Y7EDZEKK3VQEVH55
      -A KUBE-SERVICES -m comment --comment "default/np:http cluster IP" -m tcp -p tcp -d 10.96.30.3 --dport 8080 -j KUBE-SVC-QUMPV5Z3SF2IMFUJ
      -A KUBE-NODEPORTS -m comment --comment default/np:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-QUMPV5Z3SF2IMFUJ
      -A KUBE-SERVICES -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.12.34 --dport 80 -j KUBE-SVC-LOLE4ISW44XBNF3G
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web cluster IP" -m tcp -p tcp -d 10.96.12.34 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.1.5:8080" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-XQWD6PXGZUTOOIVQ
      -A KUBE-SVC-LOLE4ISW44XBNF3G -m comment --comment "default/web -> 10.244.2.7:8080" -j KUBE-SEP-CBPCTALQVABL5M2H
      -A KUBE-SEP-XQWD6PXGZUTOOIVQ -m comment --comment default/web -s 10.244.1.5 -j KUBE-MARK-MASQ
      -A KUBE-SEP-XQWD6PXGZUTOOIVQ -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080
      -A KUBE-SEP-CBPCTALQVABL5M2H -m comment --comment default/web -s 10.244.2.7 -j KUBE-MARK-MASQ
      -A KUBE-SEP-CBPCTALQVABL5M2H -m comment --comment default/web -m tcp -p tcp -j DNAT --to-destination 10.244.2.7:8080
      -A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU
      -A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4
    `,
});

function afterScaleDownAndDelete(): ReturnType<typeof kemuScenario> {
  const { services, slices } = kemuScenario();
  return {
    services: services.filter((s) => s.metadata?.name !== 'sticky'),
    slices: slices.map((s): EndpointSlice =>
      s.metadata?.name === 'web-1' ? { ...s, endpoints: (s.endpoints ?? []).filter((e) => e.addresses[0] !== '10.244.3.2') } : s,
    ),
  };
}

describe('iptables ruleset goldens', () => {
  it('full sync: ClusterIP, ClientIP affinity, UDP+TCP DNS, NodePort Local, internalTrafficPolicy Local, terminating fallback', () => {
    const { services, slices } = kemuScenario();
    expect(buildIptablesRules({ entries: buildModel(services, slices), node: KEMU_NODE }).text).toBe(FULL);
  });

  it('partial sync: only changed Services are rewritten, stale chains are deleted', () => {
    const a = kemuScenario();
    const b = afterScaleDownAndDelete();
    const prev = buildModel(a.services, a.slices);
    const next = buildModel(b.services, b.slices);
    expect([...changedServices(prev, next)].sort()).toEqual(['default/sticky', 'default/web']);
    const r = buildPartialIptablesRules({ prev, next, node: KEMU_NODE });
    expect(r.text).toBe(PARTIAL);
    expect(r.deletedChains).toEqual(DELETED);
    // The rule counts are those of the tables after the restore: the unchanged Services' rules included.
    const full = buildIptablesRules({ entries: next, node: KEMU_NODE });
    const appended = (text: string, table: string) =>
      (text.split(`*${table}\n`)[1] ?? '')
        .split('COMMIT')[0]
        .split('\n')
        .filter((l) => l.startsWith('-A ')).length;
    expect(r.ruleCounts).toEqual({ filter: appended(full.text, 'filter'), nat: appended(full.text, 'nat') });
    expect(full.ruleCounts).toEqual(r.ruleCounts);
  });

  it('a build that reuses what earlier builds computed for the same entries writes the same input, counts and chains', () => {
    const a = kemuScenario();
    const b = afterScaleDownAndDelete();
    const prev = buildModel(a.services, a.slices);
    const next = buildModel(b.services, b.slices);
    // The unchanged Services keep their entry objects, as the model tracker keeps them.
    const before = new Map(prev.map((e) => [JSON.stringify(e), e]));
    const tracked = next.map((e) => before.get(JSON.stringify(e)) ?? e);
    const memo = new IptablesRuleMemo();
    const first = buildIptablesRules({ entries: prev, node: KEMU_NODE, memo });
    const full = { entries: tracked, node: KEMU_NODE, existingNatChains: [...first.activeNatChains] };
    for (const input of [{ ...full, changedServices: changedServices(prev, next) }, full]) {
      const computed = buildIptablesRules(input);
      const reused = buildIptablesRules({ ...input, memo });
      expect(reused.text).toBe(computed.text);
      expect(reused.ruleCounts).toEqual(computed.ruleCounts);
      expect([...reused.activeNatChains].sort()).toEqual([...computed.activeNatChains].sort());
    }
    // Another node's rules differ (local endpoints): the memo does not give the first node's.
    const other = { ...KEMU_NODE, nodeName: 'node-2' };
    expect(buildIptablesRules({ entries: tracked, node: other, memo }).text).toBe(buildIptablesRules({ entries: tracked, node: other }).text);
  });

  it('a partial sync with nothing changed rewrites only the top-level chains', () => {
    const { services, slices } = kemuScenario();
    const model = buildModel(services, slices);
    const text = buildPartialIptablesRules({ prev: model, next: model, node: KEMU_NODE }).text;
    expect(text.split('\n').filter((l) => /^:KUBE-(SVC|SVL|EXT|FW|SEP)-/.test(l) || l.startsWith('-X'))).toEqual([]);
    expect(text).toContain('-A KUBE-SERVICES -m comment --comment "default/web cluster IP"');
  });

  it("iptables-nft: the Services' chains in transactions of a few Services, before the chains that lead to them", () => {
    const { services, slices } = kemuScenario();
    const existingNatChains = ['KUBE-SVC-GONEGONEGONEGONE'];
    const input = { entries: buildModel(services, slices), node: KEMU_NODE, existingNatChains };
    const one = buildIptablesRules(input).text;
    const split = buildIptablesRules({ ...input, natTransactionServices: 2 }).text;
    const blocks = split
      .split('*nat\n')
      .slice(1)
      .map((b) => b.split('\n').filter((l) => l !== '' && l !== 'COMMIT'));
    const groups = Math.ceil(new Set(one.match(/^:KUBE-(SVC|SVL)-\S+/gm)?.map((c) => c.slice(10))).size / 2);
    expect(blocks.length).toBeGreaterThanOrEqual(groups + 2);
    // The same lines in all: only where they are differs.
    const natLines = (t: string) =>
      t
        .split('*nat\n')
        .slice(1)
        .join('')
        .split('\n')
        .filter((l) => l !== '' && l !== 'COMMIT')
        .sort();
    expect(natLines(split)).toEqual(natLines(one));
    // A transaction jumps only to chains of its own, of those before it, or the fixed ones.
    const known = new Set(['KUBE-MARK-MASQ', 'KUBE-POSTROUTING', 'MARK', 'MASQUERADE', 'RETURN', 'DNAT', 'KUBE-NODEPORTS']);
    for (const block of blocks) {
      for (const l of block) if (l.startsWith(':')) known.add(l.slice(1).split(' ')[0]);
      for (const l of block) if (l.startsWith('-A ')) expect(known).toContain(l.slice(l.lastIndexOf(' -j ') + 4).split(' ')[0]);
    }
    expect(blocks[0].every((l) => /KUBE-(POSTROUTING|MARK-MASQ) /.test(l))).toBe(true);
    const last = blocks[blocks.length - 1];
    expect(last.slice(0, 2)).toEqual([':KUBE-SERVICES - [0:0]', ':KUBE-NODEPORTS - [0:0]']);
    expect(last.slice(-2)).toEqual([expect.stringContaining('-j KUBE-NODEPORTS'), '-X KUBE-SVC-GONEGONEGONEGONE']);
    // A partial sync (one transaction) writes KUBE-SERVICES as the split full sync did, so it can leave it alone.
    const full = buildIptablesRules({ ...input, natTransactionServices: 2 });
    const partial = buildIptablesRules({ ...input, natTransactionServices: 2, changedServices: new Set(['default/web']) });
    expect(partial.topLevel.get('nat/KUBE-SERVICES')).toEqual(full.topLevel.get('nat/KUBE-SERVICES'));
    expect(full.topLevel.get('nat/KUBE-SERVICES')?.length).toBeGreaterThan(3);
  });

  it('a full sync deletes chains that exist but are no longer used', () => {
    const { services, slices } = kemuScenario();
    const r = buildIptablesRules({
      entries: buildModel(services, slices),
      node: KEMU_NODE,
      existingNatChains: ['KUBE-SERVICES', 'KUBE-SVC-LOLE4ISW44XBNF3G', 'KUBE-SVC-GONEGONEGONEGONE', 'DOCKER', 'KUBE-SEP-OLDOLDOLDOLDOLDO'],
    });
    expect(r.deletedChains).toEqual(['KUBE-SEP-OLDOLDOLDOLDOLDO', 'KUBE-SVC-GONEGONEGONEGONE']);
    expect(r.text).toContain(':KUBE-SVC-GONEGONEGONEGONE - [0:0]\n');
    // Deleted last, once nothing jumps to them.
    expect(r.text).toContain('-j KUBE-NODEPORTS\n-X KUBE-SEP-OLDOLDOLDOLDOLDO\n-X KUBE-SVC-GONEGONEGONEGONE\nCOMMIT\n');
  });

  it('options: no localhost NodePorts, liberal conntrack, --random-fully, masquerade-all, another mark bit', () => {
    const { services, slices } = overallScenario();
    const text = buildIptablesRules({
      entries: buildModel(services, slices),
      node: TEST_NODE,
      options: { localhostNodePorts: false, conntrackTCPLiberal: true, randomFully: true, masqueradeAll: true, masqueradeBit: 13 },
    }).text;
    expect(text).not.toContain('KUBE-FIREWALL');
    expect(text).not.toContain('INVALID');
    expect(text).toContain('-j MASQUERADE --random-fully\n');
    expect(text).toContain('-A KUBE-MARK-MASQ -j MARK --or-mark 0x2000\n');
    expect(text).toContain('-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS\n');
    expect(text).toContain(
      '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-MARK-MASQ\n',
    );
  });

  it('probabilities are 1/(n-i) with 10 decimals', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(probability)).toEqual([
      '1.0000000000',
      '0.5000000000',
      '0.3333333333',
      '0.2500000000',
      '0.2000000000',
      '0.1666666667',
      '0.1428571429',
    ]);
  });

  it('above 1000 endpoints the per-endpoint comments are left out', () => {
    const { services, slices } = kemuScenario();
    const big = slices.map((s) =>
      s.metadata?.name !== 'web-1'
        ? s
        : {
            ...s,
            endpoints: Array.from({ length: 1001 }, (_, i) => ({ addresses: [`10.245.${i >> 8}.${i & 255}`] })),
          },
    );
    const text = buildIptablesRules({ entries: buildModel(services, big), node: KEMU_NODE }).text;
    expect(text).toMatch(/-A KUBE-SVC-LOLE4ISW44XBNF3G -m statistic --mode random --probability 0.0009990010 -j KUBE-SEP-/);
    expect(text).toMatch(/-A KUBE-SEP-\S+ -s 10\.245\.0\.0 -j KUBE-MARK-MASQ/);
  });
});

describe('jump rules from the built-in chains', () => {
  it("lists the hooks kube-proxy ensures, kubelet's firewall only with localhost NodePorts", () => {
    const lines = iptablesJumps().map((j) => `-t ${j.table} ${j.chain} ${jumpRuleArgs(j).join(' ')}`);
    expect(lines).toEqual([
      '-t filter INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES',
      '-t filter FORWARD -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES',
      '-t filter INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS',
      '-t filter FORWARD -m conntrack --ctstate NEW -m comment --comment kubernetes service portals -j KUBE-SERVICES',
      '-t filter OUTPUT -m conntrack --ctstate NEW -m comment --comment kubernetes service portals -j KUBE-SERVICES',
      '-t filter FORWARD -m comment --comment kubernetes forwarding rules -j KUBE-FORWARD',
      '-t filter INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
      '-t filter OUTPUT -m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
      '-t filter FORWARD -m conntrack --ctstate NEW -m comment --comment kubernetes load balancer firewall -j KUBE-PROXY-FIREWALL',
      '-t nat OUTPUT -m comment --comment kubernetes service portals -j KUBE-SERVICES',
      '-t nat PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES',
      '-t nat POSTROUTING -m comment --comment kubernetes postrouting rules -j KUBE-POSTROUTING',
      '-t filter INPUT -j KUBE-FIREWALL',
      '-t filter OUTPUT -j KUBE-FIREWALL',
    ]);
    expect(iptablesJumps({ localhostNodePorts: false }).some((j) => j.target === 'KUBE-FIREWALL')).toBe(false);
  });
});
