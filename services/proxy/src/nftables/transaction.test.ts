/**
 * Golden nft transaction in the order kemu writes it: the table set-up, then per
 * Service its chains (added and flushed), map elements and rules; stale service
 * chains are flushed (deleted in a later transaction), stale affinity sets deleted.
 * A transaction of this shape was checked by loading it with nft in a scratch
 * network namespace.
 */
import { describe, expect, it } from 'vitest';
import { buildModel } from '../model/from-k8s.js';
import { buildNftablesTransaction } from './transaction.js';
import { dedent } from '../testing/fixtures.js';
import { applyNft, tableLines } from '../testing/nft-table.js';
import { KEMU_NODE, kemuScenario } from '../testing/scenarios.js';

/** Chains the transaction (re)writes: each added (a no-op when it exists) and flushed, as kube-proxy does. */
const rewritten = (...chains: string[]): string => chains.map((c) => `add chain ip kube-proxy ${c}\nflush chain ip kube-proxy ${c}\n`).join('');

const GOLDEN =
  dedent(`
      add table ip kube-proxy { comment "rules for kube-proxy" ; }
      add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
      flush chain ip kube-proxy filter-prerouting-pre-dnat
      add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
      flush chain ip kube-proxy filter-output-pre-dnat
      add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
      flush chain ip kube-proxy filter-forward
      add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
      flush chain ip kube-proxy filter-input
      add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
      flush chain ip kube-proxy filter-output
      add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
      flush chain ip kube-proxy nat-prerouting
      add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
      flush chain ip kube-proxy nat-output
      add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
      flush chain ip kube-proxy nat-postrouting
      add chain ip kube-proxy nodeport-endpoints-check
      flush chain ip kube-proxy nodeport-endpoints-check
      add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
      add chain ip kube-proxy service-endpoints-check
      flush chain ip kube-proxy service-endpoints-check
      add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
      add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
      add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
      add chain ip kube-proxy firewall-check
      flush chain ip kube-proxy firewall-check
      add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
      add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
      add chain ip kube-proxy services
      flush chain ip kube-proxy services
      add rule ip kube-proxy nat-output jump services
      add rule ip kube-proxy nat-prerouting jump services
      add chain ip kube-proxy masquerading
      flush chain ip kube-proxy masquerading
      add rule ip kube-proxy nat-postrouting jump masquerading
      add chain ip kube-proxy cluster-ips-check
      flush chain ip kube-proxy cluster-ips-check
      add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
      add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
      add chain ip kube-proxy mark-for-masquerade
      flush chain ip kube-proxy mark-for-masquerade
      add rule ip kube-proxy mark-for-masquerade mark set mark or 0x4000
      add rule ip kube-proxy masquerading mark and 0x4000 == 0 return
      add rule ip kube-proxy masquerading mark set mark xor 0x4000
      add rule ip kube-proxy masquerading masquerade fully-random
      add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
      add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
      add rule ip kube-proxy cluster-ips-check ip daddr { 10.96.0.0/12 } drop comment "Drop traffic to unallocated ClusterIPs"
      add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }
      flush set ip kube-proxy nodeport-ips
      add element ip kube-proxy nodeport-ips { 172.28.0.11 }
      add element ip kube-proxy nodeport-ips { 172.28.0.111 }
      add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
      add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
      add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
      flush chain ip kube-proxy reject-chain
      add rule ip kube-proxy reject-chain reject
      add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
      add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
      add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
      add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
      add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
      add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }
      add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
      add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports
      flush set ip kube-proxy cluster-ips
      flush map ip kube-proxy service-ips
      flush map ip kube-proxy firewall-ips
      flush map ip kube-proxy no-endpoint-services
      flush map ip kube-proxy no-endpoint-nodeports
      flush map ip kube-proxy service-nodeports
      add element ip kube-proxy cluster-ips { 10.96.40.4 }
      add element ip kube-proxy no-endpoint-services { 10.96.40.4 . tcp . 80 comment "default/internal:http" : drop }
`) +
  rewritten(
    'endpoint-I5B7ZJP4-default/np/tcp/http__10.244.1.7/8080',
    'endpoint-F4LCPNNN-default/np/tcp/http__10.244.2.9/8080',
    'service-ASNVMIOD-default/np/tcp/http',
    'local-ASNVMIOD-default/np/tcp/http',
    'external-ASNVMIOD-default/np/tcp/http',
  ) +
  dedent(`
      add element ip kube-proxy cluster-ips { 10.96.30.3 }
      add element ip kube-proxy service-ips { 10.96.30.3 . tcp . 8080 : goto service-ASNVMIOD-default/np/tcp/http }
      add element ip kube-proxy service-nodeports { tcp . 30080 : goto external-ASNVMIOD-default/np/tcp/http }
      add rule ip kube-proxy service-ASNVMIOD-default/np/tcp/http ip daddr 10.96.30.3 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add rule ip kube-proxy external-ASNVMIOD-default/np/tcp/http ip saddr 10.244.0.0/16 goto service-ASNVMIOD-default/np/tcp/http comment "short-circuit pod traffic"
      add rule ip kube-proxy external-ASNVMIOD-default/np/tcp/http fib saddr type local jump mark-for-masquerade comment "masquerade local traffic"
      add rule ip kube-proxy external-ASNVMIOD-default/np/tcp/http fib saddr type local goto service-ASNVMIOD-default/np/tcp/http comment "short-circuit local traffic"
      add rule ip kube-proxy external-ASNVMIOD-default/np/tcp/http goto local-ASNVMIOD-default/np/tcp/http
      add rule ip kube-proxy service-ASNVMIOD-default/np/tcp/http numgen random mod 2 vmap { 0 : goto endpoint-I5B7ZJP4-default/np/tcp/http__10.244.1.7/8080 , 1 : goto endpoint-F4LCPNNN-default/np/tcp/http__10.244.2.9/8080 }
      add rule ip kube-proxy local-ASNVMIOD-default/np/tcp/http numgen random mod 1 vmap { 0 : goto endpoint-I5B7ZJP4-default/np/tcp/http__10.244.1.7/8080 }
      add rule ip kube-proxy endpoint-I5B7ZJP4-default/np/tcp/http__10.244.1.7/8080 ip saddr 10.244.1.7 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-I5B7ZJP4-default/np/tcp/http__10.244.1.7/8080 meta l4proto tcp dnat to 10.244.1.7:8080
      add rule ip kube-proxy endpoint-F4LCPNNN-default/np/tcp/http__10.244.2.9/8080 ip saddr 10.244.2.9 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-F4LCPNNN-default/np/tcp/http__10.244.2.9/8080 meta l4proto tcp dnat to 10.244.2.9:8080
`) +
  rewritten(
    'endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80',
    'endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80',
    'service-H6U4RGLG-default/sticky/tcp/http',
  ) +
  dedent(`
      add element ip kube-proxy cluster-ips { 10.96.20.1 }
      add element ip kube-proxy service-ips { 10.96.20.1 . tcp . 80 : goto service-H6U4RGLG-default/sticky/tcp/http }
      add rule ip kube-proxy service-H6U4RGLG-default/sticky/tcp/http ip daddr 10.96.20.1 ip saddr != 10.244.0.0/16 jump mark-for-masquerade
      add set ip kube-proxy affinity-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 { type ipv4_addr ; flags dynamic,timeout ; timeout 300s ; }
      add set ip kube-proxy affinity-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 { type ipv4_addr ; flags dynamic,timeout ; timeout 300s ; }
      add rule ip kube-proxy service-H6U4RGLG-default/sticky/tcp/http ip saddr @affinity-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 goto endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80
      add rule ip kube-proxy service-H6U4RGLG-default/sticky/tcp/http ip saddr @affinity-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 goto endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80
      add rule ip kube-proxy service-H6U4RGLG-default/sticky/tcp/http numgen random mod 2 vmap { 0 : goto endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 , 1 : goto endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 }
      add rule ip kube-proxy endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 ip saddr 10.244.1.6 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 update @affinity-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 { ip saddr }
      add rule ip kube-proxy endpoint-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80 meta l4proto tcp dnat to 10.244.1.6:80
      add rule ip kube-proxy endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 ip saddr 10.244.2.8 jump mark-for-masquerade
      add rule ip kube-proxy endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 update @affinity-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 { ip saddr }
      add rule ip kube-proxy endpoint-ZJ4J5OLO-default/sticky/tcp/http__10.244.2.8/80 meta l4proto tcp dnat to 10.244.2.8:80
      flush chain ip kube-proxy endpoint-XXXXXXXX-default/gone/tcp/http__10.244.9.9/80
      flush chain ip kube-proxy service-LLLLLLLL-default/gone/tcp/http
      delete set ip kube-proxy affinity-OLDOLDOL-default/sticky/tcp/http__10.244.1.1/80
`);

describe('nftables transaction golden', () => {
  it('NodePort Local, internalTrafficPolicy Local without local pods, ClientIP affinity; stale chains and sets', () => {
    const { services, slices } = kemuScenario();
    const keep = new Set(['sticky', 'np', 'internal']);
    const input = {
      entries: buildModel(
        services.filter((s) => keep.has(s.metadata?.name ?? '')),
        slices,
      ),
      node: { ...KEMU_NODE, nodePortIPs: ['172.28.0.11', '172.28.0.111'] },
      options: { serviceCIDRs: ['10.96.0.0/12'] },
      existingChains: [
        'services',
        'service-ASNVMIOD-default/np/tcp/http',
        'service-LLLLLLLL-default/gone/tcp/http',
        'endpoint-XXXXXXXX-default/gone/tcp/http__10.244.9.9/80',
      ],
      existingSets: ['cluster-ips', 'affinity-ZE522LSI-default/sticky/tcp/http__10.244.1.6/80', 'affinity-OLDOLDOL-default/sticky/tcp/http__10.244.1.1/80'],
      now: 5000,
    };
    const r = buildNftablesTransaction(input);
    expect(r.text).toBe(GOLDEN);
    const stale = ['endpoint-XXXXXXXX-default/gone/tcp/http__10.244.9.9/80', 'service-LLLLLLLL-default/gone/tcp/http'];
    expect(r.staleChains).toEqual(stale);
    expect(r.pendingChains).toEqual(new Map(stale.map((c) => [c, 5000])));
    // What nft gets holds the same commands: each chain's rules and each map's elements gathered in one block.
    const table = {
      chains: new Map(input.existingChains.map((c) => [c, []])),
      containers: new Map(input.existingSets.map((c) => [c, { definition: '', elements: new Map() }])),
    };
    expect(tableLines(applyNft(structuredClone(table), r.input))).toEqual(tableLines(applyNft(structuredClone(table), r.text)));
    expect(r.input).toContain('add chain ip kube-proxy masquerading { mark and 0x4000 == 0 return ; mark set mark xor 0x4000 ; masquerade fully-random ; }\n');
    // A later full sync (a failure, new node facts) deletes them once 1 s has passed, in its own transaction.
    const later = buildNftablesTransaction({ ...input, existingChains: [...r.activeChains], pendingChains: r.pendingChains, now: 6000 });
    expect(later.deletedChains).toEqual(stale);
    expect(later.text.endsWith(stale.map((c) => `delete chain ip kube-proxy ${c}\n`).join(''))).toBe(true);
  });

  it('a LoadBalancer with source ranges that include the node also admits its own VIPs', () => {
    const { services, slices } = kemuScenario();
    const lb = services
      .filter((s) => s.metadata?.name === 'np')
      .map((s) => ({
        ...s,
        spec: { ...s.spec, type: 'LoadBalancer', loadBalancerSourceRanges: ['172.28.0.0/16'] },
        status: { loadBalancer: { ingress: [{ ip: '172.28.255.1' }] } },
      }));
    const { text } = buildNftablesTransaction({ entries: buildModel(lb, slices), node: KEMU_NODE });
    expect(text).toContain('add rule ip kube-proxy firewall-ASNVMIOD-default/np/tcp/http ip saddr != { 172.28.0.0/16, 172.28.255.1 } drop\n');
    expect(text).toContain('add element ip kube-proxy firewall-ips { 172.28.255.1 . tcp . 8080 : goto firewall-ASNVMIOD-default/np/tcp/http }\n');
    expect(text).not.toContain('Drop traffic to unallocated ClusterIPs');
  });
});
