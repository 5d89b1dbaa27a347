import { describe, expect, it } from 'vitest';
import { withUsers } from './rootfs.js';

describe('container root', () => {
  it('adds the image accounts the node lacks, and only those', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nredis:x:103:106::/var/lib/redis:/usr/sbin/nologin\n';
    const group = 'root:x:0:\nredis:x:106:\n';
    const out = withUsers(passwd, group, [
      { name: 'nginx', uid: 101, gid: 101 },
      { name: 'redis', uid: 999, gid: 999 },
    ]);
    expect(out.passwd).toBe(`${passwd}nginx:x:101:101:nginx user:/nonexistent:/bin/false\n`);
    expect(out.group).toBe(`${group}nginx:x:101:\n`);
    expect(withUsers('root:x:0:0::/root:/bin/sh', '', [])).toEqual({ passwd: 'root:x:0:0::/root:/bin/sh', group: '' });
    expect(withUsers('root:x:0:0::/root:/bin/sh', '', [{ name: 'a', uid: 5, gid: 5 }]).passwd).toBe(
      'root:x:0:0::/root:/bin/sh\na:x:5:5:a user:/nonexistent:/bin/false\n',
    );
  });
  it('gives the image account its uid and gid in the container, where the node has another account with them', () => {
    const out = withUsers('root:x:0:0::/root:/bin/sh\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\n', 'root:x:0:\n_ssh:x:101:\n', [
      { name: 'nginx', uid: 101, gid: 101 },
    ]);
    expect(out.passwd).toBe('root:x:0:0::/root:/bin/sh\nnginx:x:101:101:nginx user:/nonexistent:/bin/false\n');
    expect(out.group).toBe('root:x:0:\nnginx:x:101:\n');
  });
});
