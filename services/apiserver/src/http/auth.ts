/**
 * Authentication: a client certificate signed by the cluster CA (user = CN,
 * groups = O) or a bearer token from the token file. Everything else is 401,
 * except the health and version endpoints (served to system:anonymous).
 * Authorization is ../authz (RBAC).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface UserInfo {
  name: string;
  groups: string[];
}

export const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

/** Parse a static token file: `token,user,uid,"group1,group2"` per line, as kube-apiserver's --token-auth-file. */
export function parseTokenFile(text: string): Map<string, UserInfo> {
  const out = new Map<string, UserInfo>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = t.match(/^([^,]+),([^,]+),([^,]*)(?:,"?([^"]*)"?)?$/);
    if (!m) continue;
    out.set(m[1], {
      name: m[2],
      groups: m[4]
        ? m[4]
            .split(',')
            .map((g) => g.trim())
            .filter(Boolean)
        : [],
    });
  }
  return out;
}

/** The user of a static token (--token-auth-file), in group system:authenticated as every authenticated user. */
export function staticTokenUser(token: string, tokens: Map<string, UserInfo>): UserInfo | undefined {
  const user = tokens.get(token);
  return user && { name: user.name, groups: [...user.groups, 'system:authenticated'] };
}

export function authenticate(req: IncomingMessage, tokens: Map<string, UserInfo>): UserInfo | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = header.match(/^Bearer\s+(\S+)$/i);
    return m ? staticTokenUser(m[1], tokens) : undefined; // a wrong token is refused even when a certificate is also offered
  }
  const sock = req.socket as TLSSocket;
  if (typeof sock.getPeerCertificate === 'function' && sock.authorized) {
    const cert = sock.getPeerCertificate();
    const cn = cert?.subject?.CN;
    if (cn) {
      const o = cert.subject.O;
      const groups = Array.isArray(o) ? o : o ? [o] : [];
      return { name: String(cn), groups: [...groups, 'system:authenticated'] };
    }
  }
  return undefined;
}

/**
 * Who sent a request: static tokens and client certificates first, then a service account token if it is one of
 * ours. Remembered per request, so flow control and audit (before and after the handler) and the handler ask once.
 */
const users = new WeakMap<IncomingMessage, Promise<UserInfo | undefined>>();

export function authenticateRequest(
  req: IncomingMessage,
  tokens: Map<string, UserInfo>,
  saTokens?: { authenticate(token: string): Promise<UserInfo | undefined> },
): Promise<UserInfo | undefined> {
  let p = users.get(req);
  if (!p) {
    p = (async () => {
      const user = authenticate(req, tokens);
      if (user || !saTokens) return user;
      const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      return m ? saTokens.authenticate(m[1]) : undefined;
    })().catch(() => undefined);
    users.set(req, p);
  }
  return p;
}
