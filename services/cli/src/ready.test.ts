import { describe, expect, it } from 'vitest';
import type { Taint } from 'kubernetes-types/core/v1.js';
import { nodesNotReady } from './ready.js';

const node = (name: string, ready: string, taints?: Taint[]) => ({
  metadata: { name },
  spec: { taints },
  status: { conditions: [{ type: 'Ready', status: ready, reason: ready === 'True' ? 'KubeletReady' : 'KubeletNotReady' }] },
});

describe('kemu up readiness', () => {
  it('waits for every node to be Ready and rid of the not-ready taint', () => {
    expect(nodesNotReady([node('node-1', 'True'), node('node-2', 'True')], ['node-1', 'node-2'])).toEqual([]);
    expect(nodesNotReady([node('node-1', 'False')], ['node-1', 'node-2'])).toEqual(['node-1: Ready=False (KubeletNotReady)', 'node-2: not registered']);
    expect(nodesNotReady([node('node-1', 'True', [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }])], ['node-1'])).toEqual([
      'node-1: tainted not-ready',
    ]);
  });
});
