/**
 * iptables mode: the model → the `iptables-restore --noflush` input for the filter
 * and nat tables, in the layout, order and comments of kube-proxy's syncProxyRules
 * (pkg/proxy/iptables/proxier.go). Services are written in "ns/name:port" order
 * where kube-proxy follows Go map order.
 */
import { planService, type ServicePlan } from '../model/plan.js';
import { detectorImplemented, iptIfLocal, iptIfNotLocal } from '../model/local-detector.js';
import { cidrContains } from '../model/from-k8s.js';
import { endpointString, type NodeFacts, type ServiceEntry } from '../model/types.js';
import { extChain, fwChain, isServiceChainName, sepChain, svcChain, svlChain } from '../naming.js';

export interface IptablesOptions {
  /** Masquerade all ClusterIP traffic, not only off-cluster traffic (--masquerade-all). Default false. */
  masqueradeAll?: boolean;
  /** Bit of the fwmark that flags a packet for SNAT (--iptables-masquerade-bit). Default 14 (0x4000). */
  masqueradeBit?: number;
  /** NodePorts also answer on 127.0.0.0/8 (needs route_localnet=1). Default true, as kube-proxy. */
  localhostNodePorts?: boolean;
  /** nf_conntrack_tcp_be_liberal is set, so INVALID packets need not be dropped. Default false. */
  conntrackTCPLiberal?: boolean;
  /** MASQUERADE gets --random-fully (iptables supports it). Default false. */
  randomFully?: boolean;
}

export interface IptablesSyncInput {
  entries: readonly ServiceEntry[];
  node: NodeFacts;
  options?: IptablesOptions;
  /**
   * Partial sync: only the per-service chains of these Services ("namespace/name") are
   * written; the others are left as they are in the kernel (iptables-restore --noflush
   * does not touch chains the input does not name). Undefined = full sync.
   */
  changedServices?: ReadonlySet<string>;
  /** The nat chains that exist now (iptables-save); kube-proxy's stale ones among them are deleted. */
  existingNatChains?: readonly string[];
}

export interface IptablesRuleset {
  /** The `iptables-restore --noflush --counters` input. */
  text: string;
  /** Every per-service nat chain the ruleset uses, written or not (the next sync's existing chains). */
  activeNatChains: Set<string>;
  /** Chains this input deletes with -X. */
  deletedChains: string[];
  /**
   * "-A" rules per table that the kernel holds once this input is restored: in a partial sync, the rules
   * of the unchanged Services' chains (computed, not written) count too (kube-proxy's iptables_total).
   */
  ruleCounts: { filter: number; nat: number };
}

/** Above this many endpoints kube-proxy drops per-endpoint comments to keep the ruleset small. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

const NODEPORTS_LAST_RULE_COMMENT = '"kubernetes service nodeports; NOTE: this must be the last rule in this chain"';

/** The SNAT mark for a bit: "0x4000" for bit 14 (written as iptables-save prints it). */
export function masqueradeMark(bit = 14): string {
  return `0x${(2 ** bit).toString(16)}`;
}

/** "1/n" with 10 decimals, as kube-proxy's computeProbability. */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

class Lines {
  readonly lines: string[] = [];
  write(...parts: (string | number | readonly string[])[]): void {
    this.lines.push(parts.flat().join(' '));
  }
}

/** Where the rules of a Service a partial sync leaves alone go: only counted, never joined (kube-proxy's discard buffer). */
class CountedLines extends Lines {
  count = 0;
  override write(): void {
    this.count++;
  }
}

const chainLine = (c: string): string => `:${c} - [0:0]`;

/** Build the full (or partial) iptables-restore input for the filter and nat tables. */
export function buildIptablesRules(input: IptablesSyncInput): IptablesRuleset {
  const opts = input.options ?? {};
  const node = input.node;
  const mark = masqueradeMark(opts.masqueradeBit ?? 14);
  const localhostNodePorts = opts.localhostNodePorts ?? true;
  const filterChains = new Lines();
  const filterRules = new Lines();
  const natChains = new Lines();
  // Per-service chains are declared in name order: iptables-nft keeps a table's chains in a list sorted by name and
  // inserts each new one by walking it, so declarations in hash (random) order cost O(chains²) — over a minute of
  // iptables-restore for 5,000 Services (iptables 1.8.9) — while sorted ones cost next to nothing.
  const serviceChains = new Lines();
  const natRules = new Lines();
  const skipped = { chains: new CountedLines(), rules: new CountedLines() };

  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) filterChains.write(chainLine(c));
  for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ']) natChains.write(chainLine(c));

  // SNAT happens in POSTROUTING for packets marked on the way in; the mark is
  // cleared first so a packet that traverses the stack again is not SNATed twice.
  natRules.write('-A', 'KUBE-POSTROUTING', '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  natRules.write('-A', 'KUBE-POSTROUTING', '-j', 'MARK', '--xor-mark', mark);
  natRules.write(
    '-A',
    'KUBE-POSTROUTING',
    '-m',
    'comment',
    '--comment',
    '"kubernetes service traffic requiring SNAT"',
    '-j',
    'MASQUERADE',
    opts.randomFully ? ['--random-fully'] : [],
  );
  natRules.write('-A', 'KUBE-MARK-MASQ', '-j', 'MARK', '--or-mark', mark);

  if (localhostNodePorts) {
    // route_localnet (needed for localhost NodePorts) lets martian packets to
    // 127.0.0.0/8 in from outside; this rule (also kubelet's) closes that hole.
    filterChains.write(chainLine('KUBE-FIREWALL'));
    filterRules.write(
      '-A',
      'KUBE-FIREWALL',
      '-m',
      'comment',
      '--comment',
      '"block incoming localnet connections"',
      '-d',
      '127.0.0.0/8',
      '!',
      '-s',
      '127.0.0.0/8',
      '-m',
      'conntrack',
      '!',
      '--ctstate',
      'RELATED,ESTABLISHED,DNAT',
      '-j',
      'DROP',
    );
  }

  const activeNatChains = new Set<string>();
  const totalEndpoints = input.entries.reduce((n, e) => n + e.endpoints.length, 0);
  const largeCluster = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const comment = (text: string): string[] => (largeCluster ? [] : ['-m', 'comment', '--comment', text]);

  for (const entry of input.entries) {
    const p = planService(entry, node.nodeName);
    const svc = p.svc;
    const nn = `${svc.namespace}/${svc.name}`;
    const skip = input.changedServices !== undefined && !input.changedServices.has(nn);
    const chains = { svc: svcChain(svc), svl: svlChain(svc), ext: extChain(svc), fw: fwChain(svc) };
    const internalChain = p.internalPolicyLocal ? chains.svl : chains.svc;
    const externalPolicyChain = p.externalPolicyLocal ? chains.svl : chains.svc;
    const usesFW = p.hasEndpoints && svc.loadBalancerIPs.length > 0 && svc.loadBalancerSourceRanges.length > 0;
    const lbChain = usesFW ? chains.fw : chains.ext;
    const match = ['-m', p.proto, '-p', p.proto];
    const noEpTarget = (v: 'reject' | 'drop' | undefined): string => (v === 'reject' ? 'REJECT' : 'DROP');
    const noEpComment = (v: 'reject' | 'drop' | undefined): string => `"${p.spn} ${v === 'reject' ? 'has no endpoints' : 'has no local endpoints'}"`;

    // Capture the ClusterIP.
    if (p.hasInternalEndpoints) {
      natRules.write(
        '-A',
        'KUBE-SERVICES',
        '-m',
        'comment',
        '--comment',
        `"${p.spn} cluster IP"`,
        match,
        '-d',
        svc.clusterIP,
        '--dport',
        svc.port,
        '-j',
        internalChain,
      );
    } else {
      filterRules.write(
        '-A',
        'KUBE-SERVICES',
        '-m',
        'comment',
        '--comment',
        noEpComment(p.internalNoEndpoints),
        match,
        '-d',
        svc.clusterIP,
        '--dport',
        svc.port,
        '-j',
        noEpTarget(p.internalNoEndpoints),
      );
    }
    // Capture external IPs.
    for (const ip of svc.externalIPs) {
      if (p.hasEndpoints) {
        natRules.write('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', `"${p.spn} external IP"`, match, '-d', ip, '--dport', svc.port, '-j', chains.ext);
      }
      if (!p.hasExternalEndpoints) {
        filterRules.write(
          '-A',
          'KUBE-EXTERNAL-SERVICES',
          '-m',
          'comment',
          '--comment',
          noEpComment(p.externalNoEndpoints),
          match,
          '-d',
          ip,
          '--dport',
          svc.port,
          '-j',
          noEpTarget(p.externalNoEndpoints),
        );
      }
    }
    // Capture load-balancer ingress.
    for (const ip of svc.loadBalancerIPs) {
      if (p.hasEndpoints) {
        natRules.write('-A', 'KUBE-SERVICES', '-m', 'comment', '--comment', `"${p.spn} loadbalancer IP"`, match, '-d', ip, '--dport', svc.port, '-j', lbChain);
      }
      if (usesFW) {
        filterRules.write(
          '-A',
          'KUBE-PROXY-FIREWALL',
          '-m',
          'comment',
          '--comment',
          `"${p.spn} traffic not accepted by ${chains.fw}"`,
          match,
          '-d',
          ip,
          '--dport',
          svc.port,
          '-j',
          'DROP',
        );
      }
    }
    if (!p.hasExternalEndpoints) {
      for (const ip of svc.loadBalancerIPs) {
        filterRules.write(
          '-A',
          'KUBE-EXTERNAL-SERVICES',
          '-m',
          'comment',
          '--comment',
          noEpComment(p.externalNoEndpoints),
          match,
          '-d',
          ip,
          '--dport',
          svc.port,
          '-j',
          noEpTarget(p.externalNoEndpoints),
        );
      }
    }
    // Capture NodePorts (not subject to loadBalancerSourceRanges, as in Kubernetes).
    if (svc.nodePort !== 0) {
      if (p.hasEndpoints) {
        natRules.write('-A', 'KUBE-NODEPORTS', '-m', 'comment', '--comment', p.spn, match, '--dport', svc.nodePort, '-j', chains.ext);
      }
      if (!p.hasExternalEndpoints) {
        filterRules.write(
          '-A',
          'KUBE-EXTERNAL-SERVICES',
          '-m',
          'comment',
          '--comment',
          noEpComment(p.externalNoEndpoints),
          '-m',
          'addrtype',
          '--dst-type',
          'LOCAL',
          match,
          '--dport',
          svc.nodePort,
          '-j',
          noEpTarget(p.externalNoEndpoints),
        );
      }
    }
    // The health check NodePort is accepted whether or not this node has endpoints:
    // answering "no" is how the load balancer learns to avoid this node.
    if (svc.healthCheckNodePort !== 0) {
      filterRules.write(
        '-A',
        'KUBE-NODEPORTS',
        '-m',
        'comment',
        '--comment',
        `"${p.spn} health check node port"`,
        '-m',
        'tcp',
        '-p',
        'tcp',
        '--dport',
        svc.healthCheckNodePort,
        '-j',
        'ACCEPT',
      );
    }

    // Per-service chains: for an unchanged Service in a partial sync they are computed
    // (to know which chains are in use) but not written.
    const out = skip ? skipped : { chains: serviceChains, rules: natRules };
    writeServiceChains(p, chains, internalChain, externalPolicyChain, usesFW, out, activeNatChains, node, opts, comment);
  }

  // Delete chains no longer in use: a chain line flushes it, then -X removes it.
  const deletedChains = (input.existingNatChains ?? []).filter((c) => isServiceChainName(c) && !activeNatChains.has(c)).sort();
  for (const c of deletedChains) {
    serviceChains.write(chainLine(c));
    natRules.write('-X', c);
  }

  // Finally, the jump to KUBE-NODEPORTS, after every service portal rule.
  natRules.write(
    '-A',
    'KUBE-SERVICES',
    '-m',
    'comment',
    '--comment',
    NODEPORTS_LAST_RULE_COMMENT,
    '-m',
    'addrtype',
    '--dst-type',
    'LOCAL',
    localhostNodePorts ? [] : ['!', '-d', '127.0.0.0/8'],
    '-j',
    'KUBE-NODEPORTS',
  );

  // Without nf_conntrack_tcp_be_liberal, an out-of-window packet is INVALID and would
  // reach the pod un-NATed and draw a RST (kubernetes#74839): drop it instead.
  if (!opts.conntrackTCPLiberal) filterRules.write('-A', 'KUBE-FORWARD', '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  // Forward marked traffic even when the FORWARD policy is DROP (NodePorts to other nodes' pods).
  filterRules.write(
    '-A',
    'KUBE-FORWARD',
    '-m',
    'comment',
    '--comment',
    '"kubernetes forwarding rules"',
    '-m',
    'mark',
    '--mark',
    `${mark}/${mark}`,
    '-j',
    'ACCEPT',
  );
  filterRules.write(
    '-A',
    'KUBE-FORWARD',
    '-m',
    'comment',
    '--comment',
    '"kubernetes forwarding conntrack rule"',
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  );

  const text = [
    '*filter',
    ...filterChains.lines,
    ...filterRules.lines,
    'COMMIT',
    '*nat',
    ...natChains.lines,
    ...serviceChains.lines.sort(),
    ...natRules.lines,
    'COMMIT',
    '',
  ].join('\n');
  const appended = (lines: readonly string[]): number => lines.filter((l) => l.startsWith('-A ')).length;
  const ruleCounts = { filter: appended(filterRules.lines), nat: appended(natRules.lines) + skipped.rules.count };
  return { text, activeNatChains, deletedChains, ruleCounts };
}

function writeServiceChains(
  p: ServicePlan,
  chains: { svc: string; svl: string; ext: string; fw: string },
  internalChain: string,
  externalPolicyChain: string,
  usesFW: boolean,
  out: { chains: Lines; rules: Lines },
  active: Set<string>,
  node: NodeFacts,
  opts: IptablesOptions,
  comment: (text: string) => string[],
): void {
  const svc = p.svc;
  const declare = (c: string): void => {
    out.chains.write(chainLine(c));
    active.add(c);
  };
  const detect = node.localDetector;

  // Internal traffic: masquerade what comes from outside the pod network, since the
  // chosen endpoint may be on another node and must reply through this one.
  if (p.hasInternalEndpoints) {
    const args = ['-m', 'comment', '--comment', `"${p.spn} cluster IP"`, '-m', p.proto, '-p', p.proto, '-d', svc.clusterIP, '--dport', String(svc.port)];
    if (opts.masqueradeAll) out.rules.write('-A', internalChain, args, '-j', 'KUBE-MARK-MASQ');
    else if (detectorImplemented(detect)) out.rules.write('-A', internalChain, args, iptIfNotLocal(detect), '-j', 'KUBE-MARK-MASQ');
  }

  if (p.usesExternalTrafficChain) {
    declare(chains.ext);
    if (!p.externalPolicyLocal) {
      out.rules.write('-A', chains.ext, '-m', 'comment', '--comment', `"masquerade traffic for ${p.spn} external destinations"`, '-j', 'KUBE-MARK-MASQ');
    } else {
      // Local policy keeps the client's source IP; but pods and the node itself
      // reaching an external IP behave as if they went out to a load balancer and
      // back, so they may use any endpoint (the Cluster chain).
      if (detectorImplemented(detect)) {
        out.rules.write(
          '-A',
          chains.ext,
          '-m',
          'comment',
          '--comment',
          `"pod traffic for ${p.spn} external destinations"`,
          iptIfLocal(detect),
          '-j',
          chains.svc,
        );
      }
      out.rules.write(
        '-A',
        chains.ext,
        '-m',
        'comment',
        '--comment',
        `"masquerade LOCAL traffic for ${p.spn} external destinations"`,
        '-m',
        'addrtype',
        '--src-type',
        'LOCAL',
        '-j',
        'KUBE-MARK-MASQ',
      );
      out.rules.write(
        '-A',
        chains.ext,
        '-m',
        'comment',
        '--comment',
        `"route LOCAL traffic for ${p.spn} external destinations"`,
        '-m',
        'addrtype',
        '--src-type',
        'LOCAL',
        '-j',
        chains.svc,
      );
    }
    if (p.hasExternalEndpoints) out.rules.write('-A', chains.ext, '-j', externalPolicyChain);
  }

  if (usesFW) {
    declare(chains.fw);
    const head = ['-A', chains.fw, '-m', 'comment', '--comment', `"${p.spn} loadbalancer IP"`];
    let allowFromNode = false;
    for (const cidr of svc.loadBalancerSourceRanges) {
      out.rules.write(head, '-s', cidr, '-j', chains.ext);
      if (cidrContains(cidr, node.nodeIP)) allowFromNode = true;
    }
    // A node reaching a VIP it holds loops back with the VIP as source address.
    if (allowFromNode) for (const ip of svc.loadBalancerIPs) out.rules.write(head, '-s', ip, '-j', chains.ext);
    // What falls off the end was not DNATed; filter KUBE-PROXY-FIREWALL drops it.
    out.rules.write('-A', chains.fw, '-m', 'comment', '--comment', `"other traffic to ${p.spn} will be dropped by KUBE-PROXY-FIREWALL"`);
  }

  if (p.usesClusterPolicyChain) {
    declare(chains.svc);
    writeServiceToEndpointRules(p, chains.svc, p.endpoints.cluster, out.rules, comment);
  }
  if (p.usesLocalPolicyChain) {
    declare(chains.svl);
    writeServiceToEndpointRules(p, chains.svl, p.endpoints.local, out.rules, comment);
  }

  for (const ep of p.endpoints.allReachable) {
    const sep = sepChain(svc, ep);
    declare(sep);
    const head = ['-A', sep, ...comment(p.spn)];
    // Hairpin: a pod reaching itself through the Service must be SNATed, or it
    // would answer itself directly and the client would drop the reply.
    out.rules.write(head, '-s', ep.ip, '-j', 'KUBE-MARK-MASQ');
    const affinity = svc.affinityTimeoutSeconds !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : [];
    out.rules.write(head, affinity, '-m', p.proto, '-p', p.proto, '-j', 'DNAT', '--to-destination', endpointString(ep));
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
  // ClientIP affinity first: a client seen within the timeout goes back to its endpoint.
  if (svc.affinityTimeoutSeconds !== undefined) {
    for (const ep of endpoints) {
      const sep = sepChain(svc, ep);
      rules.write(
        '-A',
        chain,
        comment(`"${p.spn} -> ${endpointString(ep)}"`),
        '-m',
        'recent',
        '--name',
        sep,
        '--rcheck',
        '--seconds',
        svc.affinityTimeoutSeconds,
        '--reap',
        '-j',
        sep,
      );
    }
  }
  // Rule i of n matches with probability 1/(n-i): each endpoint ends up with 1/n.
  endpoints.forEach((ep, i) => {
    const stat = i < endpoints.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(endpoints.length - i)] : [];
    rules.write('-A', chain, comment(`"${p.spn} -> ${endpointString(ep)}"`), stat, '-j', sepChain(svc, ep));
  });
}
