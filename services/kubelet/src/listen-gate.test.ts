import { describe, expect, it } from 'vitest';
import type { Container } from 'kubernetes-types/core/v1.js';
import { gatedPorts, listeningPorts } from './listen-gate.js';

// /proc/net/tcp as the kernel writes it: a listener on 0.0.0.0:80, one on 127.0.0.1:8080, a connection from port 41696.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1290 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1291 1 0000000000000000 100 0 0 10 0
   2: 0501F40A:A2E0 0301F40A:0050 01 00000000:00000000 02:000006DF 00000000     0        0 3948 2 0000000000000000 20 4 30 18 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0
`;

describe('listeningPorts', () => {
  it('reads the listening sockets of /proc/net/tcp and tcp6, not the connections', () => {
    expect([...listeningPorts(TCP)].sort()).toEqual([80, 8080]);
    expect([...listeningPorts(TCP6)]).toEqual([443]);
    expect(listeningPorts('').size).toBe(0);
  });
});

describe('gatedPorts', () => {
  it.each<[string, Omit<Container, 'name'>, number[]]>([
    ['declared TCP ports', { ports: [{ containerPort: 80 }, { containerPort: 443, protocol: 'TCP' }] }, [80, 443]],
    ['UDP ports are not waited for', { ports: [{ containerPort: 53, protocol: 'UDP' }] }, []],
    ['no ports', {}, []],
    ['a readiness probe decides instead', { ports: [{ containerPort: 80 }], readinessProbe: { tcpSocket: { port: 80 } } }, []],
    ['so does a startup probe', { ports: [{ containerPort: 80 }], startupProbe: { tcpSocket: { port: 80 } } }, []],
  ])('%s', (_, c, want) => expect(gatedPorts(c)).toEqual(want));
});
