import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { KubeObject } from '@kemu/api';
import { newMetricsRegistry, exposition } from '@kemu/client';
import type { Exec } from '../runtime/exec.js';
import { InterfaceAddresses } from './addresses.js';
import { Speaker } from './speaker.js';
import type { AddressElection } from './announce.js';

/**
 * A node's interfaces as `ip` shows and changes them (eth0 with the node address,
 * plus whatever is added), and the gratuitous ARPs sent: what the speaker does to
 * the kernel, without one.
 */
function fakeNode(initial: { ip: string; label: string }[] = []) {
  const addrs = [{ ip: '172.28.1.1', prefixlen: 16, label: 'eth0' }, ...initial.map((a) => ({ ...a, prefixlen: 32 }))];
  const garps: string[] = [];
  const calls: string[] = [];
  const exec: Exec = (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    const ok = (stdout = '') => Promise.resolve({ code: 0, stdout, stderr: '' });
    if (cmd === 'arping') {
      garps.push(args[args.length - 1]);
      return ok();
    }
    if (args.includes('show')) {
      const info = addrs.map((a) => ({ family: 'inet', local: a.ip, prefixlen: a.prefixlen, label: a.label }));
      return ok(
        JSON.stringify([
          { ifname: 'lo', addr_info: [{ local: '127.0.0.1', prefixlen: 8, label: 'lo' }] },
          { ifname: 'eth0', addr_info: info },
        ]),
      );
    }
    const ip = args[2].replace('/32', '');
    if (args[1] === 'replace') addrs.push({ ip, prefixlen: 32, label: args[args.indexOf('label') + 1] });
    if (args[1] === 'del')
      addrs.splice(
        addrs.findIndex((a) => a.ip === ip),
        1,
      );
    return ok();
  };
  return { exec, garps, calls, lb: () => addrs.filter((a) => a.prefixlen === 32).map((a) => `${a.ip} ${a.label}`) };
}

const svc = (key: string): KubeObject => ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: key.split('/')[0], name: key.split('/')[1] } });
const el = (ip: string, node: string | undefined, ...services: string[]): AddressElection => ({ ip, ...(node ? { node } : {}), services });

function speakerOn(node: ReturnType<typeof fakeNode>) {
  const events: string[] = [];
  const registry = newMetricsRegistry();
  const speaker = new Speaker(
    {
      nodeName: 'node-1',
      nodeIP: () => '172.28.1.1',
      addresses: new InterfaceAddresses(node.exec),
      recorder: { event: (o, _t, reason, message) => Promise.resolve(void events.push(`${o.metadata.name} ${reason} ${message}`)) },
      registry,
    },
    pino({ level: 'silent' }),
  );
  return { speaker, events, registry };
}

describe('Speaker', () => {
  it('puts the addresses this node won on its uplink as labelled /32s, with a gratuitous ARP and a nodeAssigned event each', async () => {
    const node = fakeNode();
    const { speaker, events, registry } = speakerOn(node);
    await speaker.reconcile([el('172.28.255.1', 'node-1', 'default/web'), el('172.28.255.2', 'node-2', 'default/other')], false, svc);
    expect(node.lb()).toEqual(['172.28.255.1 eth0:lb']);
    expect(node.garps).toEqual(['172.28.255.1']);
    expect(events).toEqual(['web nodeAssigned announcing from node "node-1" with protocol "layer2"']);
    expect((await exposition(registry)).body).toContain('metallb_speaker_announced{ip="172.28.255.1",node="node-1",protocol="layer2",service="default/web"} 1');
  });

  it('withdraws an address it lost, and touches nothing while the outcome stays the same', async () => {
    const node = fakeNode();
    const { speaker, events } = speakerOn(node);
    await speaker.reconcile([el('172.28.255.1', 'node-1', 'default/web')], false, svc);
    const before = node.calls.length;
    await speaker.reconcile([el('172.28.255.1', 'node-1', 'default/web')], false, svc);
    expect(node.calls.length).toBe(before);
    await speaker.reconcile([el('172.28.255.1', 'node-3', 'default/web')], false, svc);
    expect(node.lb()).toEqual([]);
    expect(speaker.holding.size).toBe(0);
    expect(events).toHaveLength(1);
  });

  it("removes what a previous run left but no longer wins, keeps what it still wins (announced again), and leaves others' addresses alone", async () => {
    const node = fakeNode([
      { ip: '172.28.255.7', label: 'eth0:lb' },
      { ip: '172.28.255.8', label: 'eth0:lb' },
      { ip: '192.0.2.1', label: 'eth0:vip' },
    ]);
    const { speaker } = speakerOn(node);
    await speaker.reconcile([el('172.28.255.8', 'node-1', 'default/web'), el('172.28.255.7', undefined, 'default/gone')], true, svc);
    expect(node.lb()).toEqual(['172.28.255.8 eth0:lb', '192.0.2.1 eth0:vip']);
    // The neighbours may have moved to another node while this speaker was down.
    expect(node.garps).toEqual(['172.28.255.8']);
    expect(node.calls.filter((c) => c.includes('replace'))).toEqual([]);
  });

  it('reads the interface on its first run even when it wins nothing: a node back from the dead gives up what it held', async () => {
    const node = fakeNode([{ ip: '172.28.255.7', label: 'eth0:lb' }]);
    const { speaker } = speakerOn(node);
    // Another node won it meanwhile; this (restarted) speaker's first outcome, "nothing", is no change to its memory.
    await speaker.reconcile([el('172.28.255.7', 'node-2', 'default/web')], false, svc);
    expect(node.lb()).toEqual([]);
  });

  it('withdrawAll gives up every address', async () => {
    const node = fakeNode();
    const { speaker } = speakerOn(node);
    await speaker.reconcile([el('172.28.255.1', 'node-1', 'a/x'), el('172.28.255.2', 'node-1', 'a/y')], false, svc);
    await speaker.withdrawAll();
    expect(node.lb()).toEqual([]);
  });
});
