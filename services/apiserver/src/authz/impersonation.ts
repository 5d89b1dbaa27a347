/**
 * Impersonation (kubectl --as, --as-group): the Impersonate-User,
 * Impersonate-Group, Impersonate-Uid and Impersonate-Extra-* headers make the
 * request act as another user, when the caller may `impersonate` each of
 * them — users, groups, serviceaccounts (in their namespace), uids and
 * userextras — as kube-apiserver's impersonation filter decides.
 */
import { badRequest, forbidden } from '@kemu/api';
import type { IncomingHttpHeaders } from 'node:http';
import type { UserInfo } from '../http/auth.js';
import { forbiddenMessage, type Decision, type RequestAttributes } from './rbac.js';

const SA_PREFIX = 'system:serviceaccount:';

/** The impersonated user, or undefined when the request impersonates nobody. Throws Forbidden when the caller may not. */
export function impersonatedUser(
  headers: Record<string, string[] | undefined> | IncomingHttpHeaders,
  caller: UserInfo,
  authorize: (user: UserInfo, a: RequestAttributes) => Decision,
): UserInfo | undefined {
  const all = (h: string): string[] => {
    const v = headers[h];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const name = all('impersonate-user')[0];
  const groups = all('impersonate-group');
  const uid = all('impersonate-uid')[0];
  const extras = Object.keys(headers).filter((h) => h.startsWith('impersonate-extra-'));
  if (name === undefined) {
    if (groups.length || uid !== undefined || extras.length) throw badRequest('requested impersonation of groups, uid or extra without impersonating a user');
    return undefined;
  }
  const check = (a: RequestAttributes, what: string, whatName: string) => {
    if (!authorize(caller, a).allowed) throw forbidden(what, a.resourceRequest ? a.apiGroup : '', whatName, forbiddenMessage(caller, a));
  };
  const auth = 'authentication.k8s.io';
  if (name.startsWith(SA_PREFIX)) {
    const [ns, sa] = name.slice(SA_PREFIX.length).split(':');
    check({ resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'serviceaccounts', namespace: ns, name: sa }, 'serviceaccounts', sa ?? '');
  } else check({ resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'users', name }, 'users', name);
  for (const g of groups) check({ resourceRequest: true, verb: 'impersonate', apiGroup: '', resource: 'groups', name: g }, 'groups', g);
  if (uid !== undefined) check({ resourceRequest: true, verb: 'impersonate', apiGroup: auth, resource: 'uids', name: uid }, 'uids', uid);
  for (const h of extras) {
    const key = h.slice('impersonate-extra-'.length);
    for (const v of all(h))
      check({ resourceRequest: true, verb: 'impersonate', apiGroup: auth, resource: 'userextras', subresource: key, name: v }, 'userextras', v);
  }
  const out = [...groups];
  if (name.startsWith(SA_PREFIX) && !groups.length) {
    const ns = name.slice(SA_PREFIX.length).split(':')[0];
    out.push('system:serviceaccounts', `system:serviceaccounts:${ns}`);
  }
  if (name !== 'system:anonymous' && !out.includes('system:authenticated')) out.push('system:authenticated');
  return { name, groups: out };
}
