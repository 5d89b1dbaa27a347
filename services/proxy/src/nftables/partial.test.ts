/**
 * Partial nftables syncs, as kube-proxy's nftables proxier makes them: only the changed Services' chains are
 * rewritten, the dispatch maps' elements are changed one by one, and the table that results is the one a full sync
 * of the new model gives, but for the stale chains a sync flushed, which a sync at least 1 s later deletes. Each
 * transaction is applied as nft gets it (`input`), after checking that kube-proxy's phrasing of it (`text`) gives the
 * same table.
 */
import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { buildModel } from '../model/from-k8s.js';
import { changedFingerprints, serviceFingerprints } from '../model/fingerprints.js';
import type { ServiceEntry } from '../model/types.js';
import { STALE_CHAIN_DELAY_MS, buildNftablesTransaction, type NftablesSyncInput, type NftablesTransaction } from './transaction.js';
import { NftServiceMemo } from './service-ops.js';
import { applyNft, emptyTable, tableLines, type NftTableState } from '../testing/nft-table.js';
import { dedent, makeEndpoint, makeSlice } from '../testing/fixtures.js';
import { KEMU_NODE, kemuScenario } from '../testing/scenarios.js';

type Scenario = { services: Service[]; slices: EndpointSlice[] };
const OPTIONS = { serviceCIDRs: ['10.96.0.0/12'] };

/** Apply a transaction as nft gets it, after checking that kube-proxy's one-command-a-line phrasing gives the same. */
function apply(table: NftTableState, tx: NftablesTransaction): NftTableState {
  const asText = tableLines(applyNft(structuredClone(table), tx.text));
  applyNft(table, tx.input);
  expect(tableLines(table)).toEqual(asText);
  return table;
}

/** A full sync of `a` into an empty table at time 0, then the partial sync to `b` at `at` ms: both transactions and the table. */
function fullThenPartial(a: readonly ServiceEntry[], b: readonly ServiceEntry[], memo?: NftServiceMemo, at = 100) {
  const first = buildNftablesTransaction({ entries: a, node: KEMU_NODE, options: OPTIONS, now: 0, ...(memo ? { memo } : {}) });
  const table = apply(emptyTable(), first);
  const partial = buildNftablesTransaction(partialInput(first, a, b, at, memo));
  apply(table, partial);
  return { first, partial, table };
}

/** The partial sync from `a` to `b` at `now` ms, after the sync `prev`. */
function partialInput(
  prev: NftablesTransaction,
  a: readonly ServiceEntry[],
  b: readonly ServiceEntry[],
  now: number,
  memo?: NftServiceMemo,
): NftablesSyncInput {
  return {
    entries: b,
    node: KEMU_NODE,
    options: OPTIONS,
    existingChains: [...prev.activeChains],
    existingSets: [...prev.activeSets],
    partial: { changedServices: changedFingerprints(serviceFingerprints(a), serviceFingerprints(b)), elements: prev.elements },
    pendingChains: prev.pendingChains,
    now,
    ...(memo ? { memo } : {}),
  };
}

/** The table a full sync of `entries` gives, plus empty chains named `pending` (flushed, not yet deleted). */
const fullTable = (entries: readonly ServiceEntry[], pending: Iterable<string> = []) =>
  [
    ...tableLines(applyNft(emptyTable(), buildNftablesTransaction({ entries, node: KEMU_NODE, options: OPTIONS }).text)),
    ...[...pending].map((c) => `chain ${c} {  }`),
  ].sort();

const model = (s: Scenario) => buildModel(s.services, s.slices);

/** web loses its endpoint on node-3 and sticky (with ClientIP affinity) is deleted. */
function afterScaleDownAndDelete(): Scenario {
  const { services, slices } = kemuScenario();
  return {
    services: services.filter((s) => s.metadata?.name !== 'sticky'),
    slices: slices.map((s): EndpointSlice =>
      s.metadata?.name === 'web-1' ? { ...s, endpoints: (s.endpoints ?? []).filter((e) => e.addresses[0] !== '10.244.3.2') } : s,
    ),
  };
}

/** Verdicts move between maps: np loses its endpoints (service-ips → no-endpoint-*), internal gets a local one. */
function afterVerdictChanges(): Scenario {
  const { services, slices } = kemuScenario();
  return {
    services,
    slices: slices.map((s): EndpointSlice => {
      if (s.metadata?.name === 'np') return { ...s, endpoints: [] };
      if (s.metadata?.name === 'internal') return makeSlice('default', 'internal', 1, [makeEndpoint('10.244.1.10', 'node-1')], [{ name: 'http', port: 80 }]);
      return s;
    }),
  };
}

/** A new LoadBalancer with source ranges, and np's NodePort moved. */
function afterLoadBalancerAdded(): Scenario {
  const { services, slices } = kemuScenario();
  const np = services.find((s) => s.metadata?.name === 'np');
  const lb: Service = {
    ...np,
    metadata: { namespace: 'default', name: 'lb' },
    spec: {
      ...np?.spec,
      type: 'LoadBalancer',
      clusterIP: '10.96.60.6',
      loadBalancerSourceRanges: ['172.28.0.0/16'],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30090 }],
    },
    status: { loadBalancer: { ingress: [{ ip: '172.28.255.1' }] } },
  };
  return {
    services: [
      ...services.map((s) =>
        s.metadata?.name === 'np' ? { ...s, spec: { ...s.spec, ports: [{ name: 'http', port: 8080, protocol: 'TCP', nodePort: 30081 }] } } : s,
      ),
      lb,
    ],
    slices: [
      ...slices,
      {
        ...makeSlice('default', 'lb', 1, [makeEndpoint('10.244.2.20', 'node-2')], [{ name: 'http', port: 8080 }]),
        metadata: { namespace: 'default', name: 'lb-1', labels: { 'kubernetes.io/service-name': 'lb' } },
      },
    ],
  };
}

const PARTIAL_SCALE_DOWN = dedent(`
  add chain ip kube-proxy endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080
  flush chain ip kube-proxy endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080
  add chain ip kube-proxy endpoint-V37XI77L-default/web/tcp/__10.244.2.7/8080
  flush chain ip kube-proxy endpoint-V37XI77L-default/web/tcp/__10.244.2.7/8080
  add chain ip kube-proxy service-PFISGYVC-default/web/tcp/
  flush chain ip kube-proxy service-PFISGYVC-default/web/tcp/
  add rule ip kube-proxy service-PFISGYVC-default/web/tcp/ ip daddr 10.96.12.34 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
  add rule ip kube-proxy service-PFISGYVC-default/web/tcp/ numgen random mod 2 vmap { 0 : goto endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080 , 1 : goto endpoint-V37XI77L-default/web/tcp/__10.244.2.7/8080 }
  add rule ip kube-proxy endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080 ip saddr 10.244.1.5 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-T6OEKE6Q-default/web/tcp/__10.244.1.5/8080 meta l4proto tcp dnat to 10.244.1.5:8080
  add rule ip kube-proxy endpoint-V37XI77L-default/web/tcp/__10.244.2.7/8080 ip saddr 10.244.2.7 jump mark-for-masquerade
  add rule ip kube-proxy endpoint-V37XI77L-default/web/tcp/__10.244.2.7/8080 meta l4proto tcp dnat to 10.244.2.7:8080
  flush chain ip kube-proxy endpoint-EXQX33LU-default/web/tcp/__10.244.3.2/8080
  flush chain ip kube-proxy endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80
  flush chain ip kube-proxy endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80
  flush chain ip kube-proxy service-H6U4RGLG-default/sticky/tcp/http
  delete set ip kube-proxy affinity-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80
  delete set ip kube-proxy affinity-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80
  delete element ip kube-proxy cluster-ips { 10.96.20.1 }
  delete element ip kube-proxy service-ips { 10.96.20.1 . tcp . 80 }
`);

describe('partial nftables syncs', () => {
  it('rewrite only the changed Services: chains, rules and affinity sets; gone ones flushed, their elements deleted', () => {
    const { partial } = fullThenPartial(model(kemuScenario()), model(afterScaleDownAndDelete()));
    expect(partial.text).toBe(PARTIAL_SCALE_DOWN);
    expect(partial.deletedChains).toEqual([]);
    expect([...partial.pendingChains]).toEqual(partial.staleChains.map((c) => [c, 100]));
  });

  it("give nft each chain's rules and each map's new elements in one block, so that it needs no cache of the chains", () => {
    const a = model(kemuScenario());
    const { partial } = fullThenPartial(a, model(afterLoadBalancerAdded()));
    // An `add rule` or `add element` would make nft 1.0.6 list every chain and set of the table first.
    expect(partial.input).not.toMatch(/^add (rule|element) /m);
    expect(partial.input).toContain('add chain ip kube-proxy firewall-D2RGPZ6L-default/lb/tcp/http { ip saddr != { 172.28.0.0/16, 172.28.255.1 } drop ; }\n');
    expect(partial.input).toMatch(
      /^add map ip kube-proxy service-nodeports \{ type inet_proto \. inet_service : verdict ; comment "NodePort traffic" ; elements = \{ tcp \. 30090 : goto external-\S+, tcp \. 30081 : goto external-\S+ \} ; \}$/m,
    );
  });

  it('delete the chains they flushed in a sync at least 1 s later, in its transaction, even when nothing else changed', () => {
    const a = model(kemuScenario());
    const b = model(afterScaleDownAndDelete());
    const { partial, table } = fullThenPartial(a, b, undefined, 100);
    expect(tableLines(table)).toEqual(fullTable(b, partial.staleChains));
    // Too soon: the chains wait (the kernel may still count the map elements just removed).
    const soon = buildNftablesTransaction(partialInput(partial, b, b, 100 + STALE_CHAIN_DELAY_MS - 1));
    expect(soon.text).toBe('');
    expect(soon.pendingChains).toEqual(partial.pendingChains);
    const later = buildNftablesTransaction(partialInput(soon, b, b, 100 + STALE_CHAIN_DELAY_MS));
    expect(later.deletedChains).toEqual(partial.staleChains);
    expect(later.text).toBe(partial.staleChains.map((c) => `delete chain ip kube-proxy ${c}\n`).join(''));
    expect(later.pendingChains.size).toBe(0);
    apply(table, later);
    expect(tableLines(table)).toEqual(fullTable(b));
  });

  it('keep a chain waiting for deletion that a Service uses again, and delete only the others', () => {
    const a = model(kemuScenario());
    const b = model(afterScaleDownAndDelete());
    const { partial, table } = fullThenPartial(a, b, undefined, 100);
    // 0.5 s later web's endpoint on node-3 is back, sticky is not.
    const back = model({ ...kemuScenario(), services: kemuScenario().services.filter((s) => s.metadata?.name !== 'sticky') });
    const again = buildNftablesTransaction(partialInput(partial, b, back, 600));
    apply(table, again);
    const returned = partial.staleChains.filter((c) => c.includes('/web/'));
    expect(returned).toHaveLength(1);
    expect([...again.pendingChains.keys()]).toEqual(partial.staleChains.filter((c) => !c.includes('/web/')));
    const later = buildNftablesTransaction(partialInput(again, back, back, 1100));
    expect(later.deletedChains).toEqual([...again.pendingChains.keys()]);
    apply(table, later);
    expect(tableLines(table)).toEqual(fullTable(back));
  });

  it.each([
    ['an endpoint gone and a Service deleted', afterScaleDownAndDelete],
    ['verdicts moved between maps', afterVerdictChanges],
    ['a LoadBalancer added, a NodePort moved', afterLoadBalancerAdded],
  ])('leave the table a full sync would leave, but for chains waiting for deletion: %s', (_, after) => {
    const a = model(kemuScenario());
    const b = model(after());
    const { table, partial } = fullThenPartial(a, b);
    expect(tableLines(table)).toEqual(fullTable(b, partial.pendingChains.keys()));
    // ... and back again, 2 s later: the chains the first partial sync flushed go.
    const back = buildNftablesTransaction(partialInput(partial, b, a, 2100));
    apply(table, back);
    expect(back.deletedChains).toEqual(partial.staleChains.filter((c) => !back.activeChains.has(c)));
    expect(tableLines(table)).toEqual(fullTable(a, back.pendingChains.keys()));
    // ... and a sync with nothing else to do 1 s later deletes the rest.
    const last = buildNftablesTransaction(partialInput(back, a, a, 3100));
    apply(table, last);
    expect(last.pendingChains.size).toBe(0);
    expect(tableLines(table)).toEqual(fullTable(a));
  });

  it('write nothing when nothing changed', () => {
    const a = model(kemuScenario());
    const { partial } = fullThenPartial(a, a);
    expect(partial.text).toBe('');
    expect(partial.staleChains).toEqual([]);
  });

  it('reuse what earlier builds computed for the same entries, and give the same transactions', () => {
    const a = model(kemuScenario());
    const next = model(afterVerdictChanges());
    // The unchanged Services keep their entry objects, as the model tracker keeps them.
    const before = new Map(a.map((e) => [JSON.stringify(e), e]));
    const b = next.map((e) => before.get(JSON.stringify(e)) ?? e);
    const memo = new NftServiceMemo();
    const reused = fullThenPartial(a, b, memo);
    const computed = fullThenPartial(a, b);
    expect(reused.first.text).toBe(computed.first.text);
    expect(reused.partial.text).toBe(computed.partial.text);
    // Another node's output differs (local endpoints): the memo does not give the first node's.
    const other = { ...KEMU_NODE, nodeName: 'node-2' };
    expect(buildNftablesTransaction({ entries: b, node: other, memo }).text).toBe(buildNftablesTransaction({ entries: b, node: other }).text);
  });
});
