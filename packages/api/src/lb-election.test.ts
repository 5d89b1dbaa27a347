import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Node } from 'kubernetes-types/core/v1.js';
import type { EndpointSlice } from 'kubernetes-types/discovery/v1.js';
import { electSpeaker, speakerCandidates, speakerOrder } from './lb-election.js';

const nodes = ['node-1', 'node-2', 'node-3'];
/** The order computed independently: sha256 of "node#ip" as hex, which sorts as the bytes do. */
const byHash = (ip: string, ns: string[]) =>
  [...ns].sort((a, b) =>
    createHash('sha256')
      .update(`${a}#${ip}`)
      .digest('hex')
      .localeCompare(createHash('sha256').update(`${b}#${ip}`).digest('hex')),
  );

describe('electSpeaker', () => {
  it.each(['172.28.255.1', '172.28.255.2', '172.28.255.3', '10.0.0.1'])('orders the nodes by sha256(node#%s)', (ip) => {
    expect(speakerOrder(ip, nodes)).toEqual(byHash(ip, nodes));
    expect(electSpeaker(ip, nodes)).toBe(byHash(ip, nodes)[0]);
  });
  it('does not depend on the order the candidates come in', () => {
    for (const ip of ['172.28.255.1', '172.28.255.9']) expect(electSpeaker(ip, [...nodes].reverse())).toBe(electSpeaker(ip, nodes));
  });
  it('when the elected node drops out, the next in the order takes over and the others keep theirs', () => {
    const ip = '172.28.255.1';
    const [first, second] = speakerOrder(ip, nodes);
    expect(
      electSpeaker(
        ip,
        nodes.filter((n) => n !== first),
      ),
    ).toBe(second);
  });
  it('spreads addresses over the nodes', () => {
    const winners = new Set(Array.from({ length: 30 }, (_, i) => electSpeaker(`172.28.255.${i + 1}`, nodes)));
    expect(winners.size).toBe(3);
  });
  it('nobody when there are no candidates', () => expect(electSpeaker('172.28.255.1', [])).toBeUndefined());
});

const node = (name: string, ready = true, labels: Record<string, string> = {}): Node => ({
  metadata: { name, labels },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }] },
});
const slice = (...eps: [string, boolean][]): EndpointSlice => ({
  addressType: 'IPv4',
  metadata: { name: 's' },
  endpoints: eps.map(([nodeName, ready], i) => ({ addresses: [`10.244.0.${i + 1}`], nodeName, conditions: { ready, serving: ready } })),
});

describe('speakerCandidates', () => {
  const all = [node('node-1'), node('node-2', false), node('node-3'), node('cp', true, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' })];
  it.each<[string, EndpointSlice[], string | undefined, string[]]>([
    ['Cluster: every Ready node not excluded', [slice(['node-2', true])], 'Cluster', ['node-1', 'node-3']],
    ['Local: only Ready nodes with a serving endpoint', [slice(['node-1', false], ['node-2', true], ['node-3', true])], 'Local', ['node-3']],
    ['no serving endpoint anywhere: nobody', [slice(['node-1', false])], 'Cluster', []],
    ['no slices: nobody', [], undefined, []],
  ])('%s', (_n, slices, policy, want) => expect(speakerCandidates(all, slices, policy)).toEqual(want));
});
