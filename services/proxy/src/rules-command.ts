/**
 * `kemu-proxy rules`: print what kube-proxy would program on a node for the
 * Services and EndpointSlices in a JSON file (`kubectl get
 * services,endpointslices -A -o json`), in iptables or nftables form.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Service } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { buildIptablesRules, buildModel, buildNftablesTransaction, type NodeFacts } from './index.js';

const USAGE = `usage: kemu-proxy rules --mode iptables|nftables --node-name NAME --node-ip IP [--cluster-cidr CIDR] [--service-cidr CIDR] FILE.json`;

export function rulesCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      mode: { type: 'string', default: 'iptables' },
      'node-name': { type: 'string' },
      'node-ip': { type: 'string' },
      'cluster-cidr': { type: 'string' },
      'service-cidr': { type: 'string' },
    },
  });
  const [verb, file] = positionals;
  const nodeName = values['node-name'];
  const nodeIP = values['node-ip'];
  if (verb !== 'rules' || !file || !nodeName || !nodeIP || (values.mode !== 'iptables' && values.mode !== 'nftables')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const doc: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const items = (Array.isArray(doc) ? doc : ((doc as { items?: unknown[] }).items ?? [])) as { kind?: string }[];
  const services = items.filter((o): o is Service => o.kind === 'Service');
  const slices = items.filter((o): o is EndpointSlice => o.kind === 'EndpointSlice');
  const cidr = values['cluster-cidr'];
  const node: NodeFacts = { nodeName, nodeIP, localDetector: cidr ? { mode: 'ClusterCIDR', cidr } : { mode: 'None' } };
  const entries = buildModel(services, slices);
  const serviceCIDR = values['service-cidr'];
  process.stdout.write(
    values.mode === 'iptables'
      ? buildIptablesRules({ entries, node }).text
      : buildNftablesTransaction({ entries, node, ...(serviceCIDR ? { options: { serviceCIDRs: [serviceCIDR] } } : {}) }).text,
  );
  return 0;
}
