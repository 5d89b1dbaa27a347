/**
 * The per-Service nat chains of the iptables mode (KUBE-EXT, KUBE-FW, KUBE-SVC,
 * KUBE-SVL, KUBE-SEP), in the order and with the comments of kube-proxy's
 * syncProxyRules. Pure: writes into the given lines.
 */
import type { ServicePlan } from '../model/plan.js';
import { detectorImplemented, iptIfLocal, iptIfNotLocal } from '../model/local-detector.js';
import { cidrContains } from '../model/from-k8s.js';
import { endpointString, type NodeFacts } from '../model/types.js';
import { extChain, fwChain, sepChain, svcChain, svlChain } from '../naming.js';
import { chainLine, type Lines, type Part } from './lines.js';

/** The chains of one Service port, and which of them each kind of traffic enters. */
export interface ServiceChains {
  svc: string;
  svl: string;
  ext: string;
  fw: string;
  /** Where ClusterIP traffic goes: KUBE-SVL with internalTrafficPolicy Local, else KUBE-SVC. */
  internal: string;
  /** Where KUBE-EXT ends: KUBE-SVL with externalTrafficPolicy Local, else KUBE-SVC. */
  externalPolicy: string;
  /** loadBalancerSourceRanges apply: LB traffic goes through KUBE-FW first. */
  usesFW: boolean;
  /** Where LB traffic goes: KUBE-FW or KUBE-EXT. */
  lb: string;
}

export function serviceChains(p: ServicePlan): ServiceChains {
  const svc = p.svc;
  const names = { svc: svcChain(svc), svl: svlChain(svc), ext: extChain(svc), fw: fwChain(svc) };
  const usesFW = p.hasEndpoints && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
  return {
    ...names,
    internal: p.internalPolicyLocal ? names.svl : names.svc,
    externalPolicy: p.externalPolicyLocal ? names.svl : names.svc,
    usesFW,
    lb: usesFW ? names.fw : names.ext,
  };
}

/** What writeServiceChains needs besides the plan. */
export interface ServiceChainContext {
  out: { chains: Lines; rules: Lines };
  /** Every chain declared is added here (also when `out` is thrown away, in a partial sync). */
  active: Set<string>;
  node: NodeFacts;
  masqueradeAll: boolean;
  /** The comment match, or nothing above the large-cluster threshold. */
  comment: (text: string) => string[];
}

const FROM_LOCAL_ADDRESS = ['-m', 'addrtype', '--src-type', 'LOCAL'];

export function writeServiceChains(p: ServicePlan, chains: ServiceChains, ctx: ServiceChainContext): void {
  const svc = p.svc;
  const rules = ctx.out.rules;
  const declare = (c: string): void => {
    ctx.out.chains.write(chainLine(c));
    ctx.active.add(c);
  };
  const detect = ctx.node.localDetector;

  // Internal traffic: masquerade what comes from outside the pod network, since the
  // chosen endpoint may be on another node and must reply through this one.
  if (p.hasInternalEndpoints && (ctx.masqueradeAll || detectorImplemented(detect))) {
    const notLocal = ctx.masqueradeAll ? [] : iptIfNotLocal(detect);
    const dst = ['-m', p.proto, '-p', p.proto, '-d', svc.clusterIP, '--dport', svc.port];
    rules.append(chains.internal, `"${p.spn} cluster IP"`, dst, notLocal, '-j', 'KUBE-MARK-MASQ');
  }

  if (p.usesExternalTrafficChain) {
    declare(chains.ext);
    const external = (what: string): string => `"${what} ${p.spn} external destinations"`;
    if (!p.externalPolicyLocal) {
      rules.append(chains.ext, external('masquerade traffic for'), '-j', 'KUBE-MARK-MASQ');
    } else {
      // Local policy keeps the client's source IP; but pods and the node itself
      // reaching an external IP behave as if they went out to a load balancer and
      // back, so they may use any endpoint (the Cluster chain).
      if (detectorImplemented(detect)) rules.append(chains.ext, external('pod traffic for'), iptIfLocal(detect), '-j', chains.svc);
      rules.append(chains.ext, external('masquerade LOCAL traffic for'), FROM_LOCAL_ADDRESS, '-j', 'KUBE-MARK-MASQ');
      rules.append(chains.ext, external('route LOCAL traffic for'), FROM_LOCAL_ADDRESS, '-j', chains.svc);
    }
    if (p.hasExternalEndpoints) rules.write('-A', chains.ext, '-j', chains.externalPolicy);
  }

  if (chains.usesFW) {
    declare(chains.fw);
    const allow = (source: string): void => rules.append(chains.fw, `"${p.spn} loadbalancer IP"`, '-s', source, '-j', chains.ext);
    svc.loadBalancerSourceRanges.forEach(allow);
    // A node reaching a VIP it holds loops back with the VIP as source address.
    if (svc.loadBalancerSourceRanges.some((cidr) => cidrContains(cidr, ctx.node.nodeIP))) svc.loadBalancerIPs.forEach(allow);
    // What falls off the end was not DNATed; filter KUBE-PROXY-FIREWALL drops it.
    rules.append(chains.fw, `"other traffic to ${p.spn} will be dropped by KUBE-PROXY-FIREWALL"`);
  }

  if (p.usesClusterPolicyChain) {
    declare(chains.svc);
    writeServiceToEndpointRules(p, chains.svc, p.endpoints.cluster, rules, ctx.comment);
  }
  if (p.usesLocalPolicyChain) {
    declare(chains.svl);
    writeServiceToEndpointRules(p, chains.svl, p.endpoints.local, rules, ctx.comment);
  }

  for (const ep of p.endpoints.allReachable) {
    const sep = sepChain(svc, ep);
    declare(sep);
    const head = ['-A', sep, ...ctx.comment(p.spn)];
    // Hairpin: a pod reaching itself through the Service must be SNATed, or it
    // would answer itself directly and the client would drop the reply.
    rules.write(head, '-s', ep.ip, '-j', 'KUBE-MARK-MASQ');
    const affinity = svc.affinityTimeoutSeconds !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : [];
    rules.write(head, affinity, '-m', p.proto, '-p', p.proto, '-j', 'DNAT', '--to-destination', endpointString(ep));
  }
}

function writeServiceToEndpointRules(
  p: ServicePlan,
  chain: string,
  endpoints: readonly { ip: string; port: number }[],
  rules: Lines,
  comment: (text: string) => string[],
): void {
  const svc = p.svc;
  const toEndpoint = (ep: { ip: string; port: number }, ...rest: Part[]): void =>
    rules.write('-A', chain, comment(`"${p.spn} -> ${endpointString(ep)}"`), ...rest, '-j', sepChain(svc, ep));
  // ClientIP affinity first: a client seen within the timeout goes back to its endpoint.
  if (svc.affinityTimeoutSeconds !== undefined) {
    for (const ep of endpoints) toEndpoint(ep, '-m', 'recent', '--name', sepChain(svc, ep), '--rcheck', '--seconds', svc.affinityTimeoutSeconds, '--reap');
  }
  // Rule i of n matches with probability 1/(n-i): each endpoint ends up with 1/n.
  endpoints.forEach((ep, i) =>
    toEndpoint(ep, i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : []),
  );
}

/** "1/n" with 10 decimals, as kube-proxy's computeProbability. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}
