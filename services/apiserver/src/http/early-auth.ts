/**
 * Who sent a request, found before the handler runs: flow control needs the
 * user to classify the request, and audit needs it for requests the handler
 * never reaches (a 429). Same authenticators as the handler (static tokens,
 * client certificates, then service account tokens), remembered per request
 * so the layers around the handler ask once. The handler authenticates again
 * by itself (its own code path; the cost is one token check).
 */
import type { IncomingMessage } from 'node:http';
import { authenticate, type UserInfo } from './auth.js';
import type { ServiceAccountTokens } from '../auth/service-account-tokens.js';

const users = new WeakMap<IncomingMessage, Promise<UserInfo | undefined>>();

export function earlyUser(req: IncomingMessage, tokens: Map<string, UserInfo>, saTokens?: ServiceAccountTokens): Promise<UserInfo | undefined> {
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
