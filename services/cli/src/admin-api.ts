/**
 * The api-server as `kemu` itself talks to it: HTTPS with the admin client
 * certificate from the cluster's pki directory. Small on purpose — the cli
 * watches nodes and applies the add-on manifests, nothing more.
 */
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AdminApi {
  server: string;
  pki: string;
}

export interface AdminResponse {
  status: number;
  body: string;
}

/** The admin connection of a cluster: its kubeconfig names the server, pki holds the credentials. */
export function adminApi(kubeconfigPath: string, pki: string): AdminApi | undefined {
  const server = /server: (\S+)/.exec(readFileSync(kubeconfigPath, 'utf8'))?.[1];
  return server ? { server, pki } : undefined;
}

const credentials = (api: AdminApi) => ({
  ca: readFileSync(join(api.pki, 'ca.crt')),
  cert: readFileSync(join(api.pki, 'admin.crt')),
  key: readFileSync(join(api.pki, 'admin.key')),
});

/** One request; resolves with the status and body whatever the status, rejects on a transport error or after 5 s. */
export function adminRequest(api: AdminApi, method: string, path: string, body?: unknown): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, api.server),
      {
        method,
        ...credentials(api),
        timeout: 5000,
        headers: data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** One event of a watch stream, as the api-server writes it (one JSON object a line). */
export interface AdminWatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/**
 * Follow a watch (`path` with `watch=1`) until `done` says so (resolves true), or the stream ends or `ms` pass
 * (false); rejects on a transport error, a status other than 200, or an ERROR event (a watch too old: list again).
 */
export function adminWatch<T>(api: AdminApi, path: string, done: (e: AdminWatchEvent<T>) => boolean, ms: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, api.server), credentials(api), (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`GET ${path}: ${res.statusCode}`));
      }
      let rest = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        const lines = (rest + d).split('\n');
        rest = lines.pop() ?? '';
        try {
          for (const line of lines.filter(Boolean)) {
            const e = JSON.parse(line) as AdminWatchEvent<T>;
            if (e.type === 'ERROR') throw new Error(`watch ${path}: ${JSON.stringify(e.object)}`);
            if (done(e)) return finish(() => resolve(true));
          }
        } catch (e) {
          finish(() => reject(e instanceof Error ? e : new Error(String(e))));
        }
      });
      res.on('end', () => finish(() => resolve(false)));
      // Destroying the request once done ends the response with an error nobody needs.
      res.on('error', (e) => finish(() => reject(e)));
    });
    const timer = setTimeout(() => finish(() => resolve(false)), Math.max(0, ms));
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      req.destroy();
      settle();
    };
    req.on('error', (e) => finish(() => reject(e)));
    req.end();
  });
}
