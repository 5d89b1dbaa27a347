/**
 * Each scheduler's choices for one fixed input: backends A (weight 3), B (2), C (1);
 * every pick opens a connection on the chosen backend and none closes, so the
 * connection-count schedulers see their own earlier choices. The expected sequences
 * were worked out by hand from the kernel's ip_vs_*.c.
 */
import { describe, expect, it } from 'vitest';
import { createScheduler, dhBucket, shBucket, shTable, type Backend, type SchedulerName } from './schedulers.js';
import { Balancer, ClientIPAffinity } from './affinity.js';

const backends = (): Backend[] => [
  { id: '10.244.1.5:80', ip: '10.244.1.5', weight: 3, activeConns: 0, inactiveConns: 0 },
  { id: '10.244.2.7:80', ip: '10.244.2.7', weight: 2, activeConns: 0, inactiveConns: 0 },
  { id: '10.244.3.2:80', ip: '10.244.3.2', weight: 1, activeConns: 0, inactiveConns: 0 },
];
const letter = (b: Backend | undefined): string => (b ? 'ABC'[backends().findIndex((x) => x.id === b.id)] : '-');

function sequence(name: SchedulerName, picks: number, client = (i: number): string => `192.168.0.${10 + i}`, dest = '10.96.0.10'): string {
  const s = createScheduler(name);
  const bs = backends();
  const out: string[] = [];
  for (let i = 0; i < picks; i++) {
    const b = s.pick(bs, { clientIP: client(i), destIP: dest });
    if (b) b.activeConns++;
    out.push(letter(b));
  }
  return out.join(' ');
}

describe('scheduler choice sequences (A w3, B w2, C w1; connections stay open)', () => {
  it.each<[SchedulerName, string]>([
    ['rr', 'A B C A B C A B C A B C'],
    ['wrr', 'A A B A B C A A B A B C'],
    ['lc', 'A B C A B C A B C A B C'],
    ['wlc', 'A B C A B A A B C A B A'],
    ['sed', 'A B A A B C A B A A B C'],
    ['nq', 'A B C A A B A B A A B C'],
  ])('%s', (name, expected) => {
    expect(sequence(name, 12)).toBe(expected);
  });

  it('dh: the dialled address decides, whoever the client', () => {
    // buckets: 10.96.0.10 → 234 (A), .11 → 155 (C), .12 → 76 (B); bucket i holds backend i mod 3.
    expect([dhBucket('10.96.0.10'), dhBucket('10.96.0.11'), dhBucket('10.96.0.12')]).toEqual([234, 155, 76]);
    expect(sequence('dh', 4, (i) => `10.0.0.${i}`, '10.96.0.10')).toBe('A A A A');
    expect(sequence('dh', 4, (i) => `10.0.0.${i}`, '10.96.0.11')).toBe('C C C C');
    expect(sequence('dh', 4, (i) => `10.0.0.${i}`, '10.96.0.12')).toBe('B B B B');
  });

  it('sh: the client address decides; weights give backends 3, 2 and 1 buckets of every 6', () => {
    expect(shTable(backends()).slice(0, 12).map(letter).join(' ')).toBe('A A A B B C A A A B B C');
    const clients = ['10.244.1.10', '10.244.1.11', '10.244.2.20', '10.244.3.30', '192.168.0.7', '172.28.0.1'];
    const buckets = clients.map(shBucket);
    const expected = buckets.map((b) => 'AAABBC'[b % 6]).join(' ');
    expect(sequence('sh', clients.length, (i) => clients[i])).toBe(expected);
    // The same client again gets the same backend.
    expect(sequence('sh', 3, () => '10.244.1.10')).toBe(
      Array(3)
        .fill('AAABBC'[shBucket('10.244.1.10') % 6])
        .join(' '),
    );
  });
});

describe('scheduler edge cases', () => {
  it.each<SchedulerName>(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq'])('%s never picks a weight-0 backend', (name) => {
    const s = createScheduler(name);
    const bs = backends().map((b, i) => (i === 0 ? { ...b, weight: 0 } : b));
    for (let i = 0; i < 20; i++) expect(s.pick(bs, { clientIP: '10.0.0.1', destIP: '10.96.0.10' })?.id).not.toBe('10.244.1.5:80');
  });

  it.each<SchedulerName>(['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'dh', 'sh'])('%s has nothing to pick without backends', (name) => {
    expect(createScheduler(name).pick([], { clientIP: '10.0.0.1', destIP: '10.96.0.10' })).toBeUndefined();
  });

  it('dh gives no backend when the hashed one is quiesced (IPVS does not fall back)', () => {
    const bs = backends().map((b, i) => (i === 0 ? { ...b, weight: 0 } : b));
    expect(createScheduler('dh').pick(bs, { clientIP: '10.0.0.1', destIP: '10.96.0.10' })).toBeUndefined();
  });

  it('rr resumes after the last choice when a backend is removed', () => {
    const s = createScheduler('rr');
    const bs = backends();
    const conn = { clientIP: '10.0.0.1', destIP: '10.96.0.10' };
    expect([s.pick(bs, conn), s.pick(bs, conn)].map(letter).join(' ')).toBe('A B');
    expect(letter(s.pick([bs[0], bs[2]], conn))).toBe('C');
  });

  it('lc counts an active connection as 256 inactive ones', () => {
    const bs = backends();
    bs[0].inactiveConns = 255;
    bs[1].activeConns = 1;
    bs[2].activeConns = 1;
    expect(letter(createScheduler('lc').pick(bs, { clientIP: '10.0.0.1', destIP: '10.96.0.10' }))).toBe('A');
  });
});

describe('ClientIP affinity', () => {
  it('sends a client back to its backend until the timeout passes since its last use', () => {
    let now = 0;
    const bal = new Balancer({ scheduler: 'rr', affinityTimeoutSeconds: 10, now: () => now });
    const bs = backends();
    const from = (clientIP: string): string => letter(bal.pick(bs, { clientIP, destIP: '10.96.0.10' }));
    expect([from('1.1.1.1'), from('2.2.2.2'), from('1.1.1.1')].join(' ')).toBe('A B A');
    now = 9_999;
    expect(from('1.1.1.1')).toBe('A'); // renewed at 9.999 s
    now = 19_998;
    expect(from('1.1.1.1')).toBe('A');
    now = 29_998;
    expect(from('1.1.1.1')).toBe('C'); // expired: the scheduler chooses again
  });

  it('forgets clients of a removed backend', () => {
    const aff = new ClientIPAffinity(60, () => 0);
    aff.record('1.1.1.1', 'x');
    aff.record('2.2.2.2', 'y');
    aff.retain(new Set(['y']));
    expect([aff.lookup('1.1.1.1'), aff.lookup('2.2.2.2'), aff.size]).toEqual([undefined, 'y', 1]);
  });

  it('sweep drops expired entries', () => {
    let now = 0;
    const aff = new ClientIPAffinity(1, () => now);
    aff.record('1.1.1.1', 'x');
    now = 1000;
    aff.sweep();
    expect(aff.size).toBe(0);
  });
});
