/**
 * Partial nftables syncs, as kube-proxy's nftables proxier makes them: only the changed Services' chains are
 * rewritten, the dispatch maps' elements are changed one by one, and the table that results is the one a full sync
 * of the new model gives.
 */
import { describe, expect, it } from 'vitest';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import type { Service } from 'kubernetes-types/core/v1.js';
import { buildModel } from '../model/from-k8s.js';
import { changedFingerprints, serviceFingerprints } from '../model/fingerprints.js';
import type { ServiceEntry } from '../model/types.js';
import { buildNftablesTransaction, deleteChainsTransaction, type NftablesSyncInput, type NftablesTransaction } from './transaction.js';
import { NftServiceMemo } from './service-ops.js';
import { applyNft, emptyTable, tableLines } from '../testing/nft-table.js';
import { dedent, makeEndpoint, makeSlice } from '../testing/fixtures.js';
import { KEMU_NODE, kemuScenario } from '../testing/scenarios.js';

type Scenario = { services: Service[]; slices: EndpointSlice[] };
const OPTIONS = { serviceCIDRs: ['10.96.0.0/12'] };

/** A full sync of `a` into an empty table, then the partial sync to `b`: both transactions and the table. */
function fullThenPartial(a: readonly ServiceEntry[], b: readonly ServiceEntry[], memo?: NftServiceMemo) {
  const first = buildNftablesTransaction({ entries: a, node: KEMU_NODE, options: OPTIONS, ...(memo ? { memo } : {}) });
  const table = applyNft(emptyTable(), first.text);
  const partial = buildNftablesTransaction(partialInput(first, a, b, memo));
  applyNft(table, partial.text);
  applyNft(table, deleteChainsTransaction(partial.staleChains));
  return { first, partial, table };
}

function partialInput(prev: NftablesTransaction, a: readonly ServiceEntry[], b: readonly ServiceEntry[], memo?: NftServiceMemo): NftablesSyncInput {
  return {
    entries: b,
    node: KEMU_NODE,
    options: OPTIONS,
    existingChains: [...prev.activeChains],
    existingSets: [...prev.activeSets],
    partial: { changedServices: changedFingerprints(serviceFingerprints(a), serviceFingerprints(b)), elements: prev.elements },
    ...(memo ? { memo } : {}),
  };
}

/** The table a full sync of `entries` gives. */
const fullTable = (entries: readonly ServiceEntry[]) =>
  tableLines(applyNft(emptyTable(), buildNftablesTransaction({ entries, node: KEMU_NODE, options: OPTIONS }).text));

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
  });

  it.each([
    ['an endpoint gone and a Service deleted', afterScaleDownAndDelete],
    ['verdicts moved between maps', afterVerdictChanges],
    ['a LoadBalancer added, a NodePort moved', afterLoadBalancerAdded],
  ])('leave the table a full sync would leave: %s', (_, after) => {
    const a = model(kemuScenario());
    const b = model(after());
    const { table, partial } = fullThenPartial(a, b);
    expect(tableLines(table)).toEqual(fullTable(b));
    // ... and back again.
    const back = buildNftablesTransaction(partialInput(partial, b, a));
    applyNft(table, back.text);
    applyNft(table, deleteChainsTransaction(back.staleChains));
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
