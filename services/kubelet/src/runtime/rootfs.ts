/**
 * The accounts of a container's root: the node's, plus those the image's
 * /etc/passwd has (nginx's `user nginx;` needs an nginx user the node may
 * not have), written to the container's own /etc. Pure.
 */

/** An account of the image: a user, and its primary group of the same name. */
export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
  home?: string;
}

const names = (text: string) => new Set(text.split('\n').map((l) => l.split(':')[0]));

/** The file's lines less those whose id field (2: uid or gid) is one of ids, then the added lines. */
function replace(text: string, ids: Set<string>, lines: string[]): string {
  if (!lines.length) return text;
  const kept = text.split('\n').filter((l) => l !== '' && !ids.has(l.split(':')[2] ?? ''));
  return `${[...kept, ...lines].join('\n')}\n`;
}

/**
 * The node's /etc/passwd and /etc/group with the image's accounts added
 * where no entry of that name exists. A node account with the same uid (or
 * group with the same gid) goes from the container's copy: the image has
 * none, and `ps` in the container should name the image's user.
 */
export function withUsers(passwd: string, group: string, users: ImageUser[]): { passwd: string; group: string } {
  const newUsers = users.filter((u) => !names(passwd).has(u.name));
  const newGroups = users.filter((u) => !names(group).has(u.name));
  return {
    passwd: replace(
      passwd,
      new Set(newUsers.map((u) => String(u.uid))),
      newUsers.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.name} user:${u.home ?? '/nonexistent'}:/bin/false`),
    ),
    group: replace(
      group,
      new Set(newGroups.map((u) => String(u.gid))),
      newGroups.map((u) => `${u.name}:x:${u.gid}:`),
    ),
  };
}
