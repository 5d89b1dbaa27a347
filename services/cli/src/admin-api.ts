/**
 * The api-server as `kemu` itself talks to it: HTTPS with the admin client
 * certificate from the cluster's pki directory. Small on purpose — the cli
 * reads nodes and applies the add-on manifests, nothing more.
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

/** One request; resolves with the status and body whatever the status, rejects on a transport error or after 5 s. */
export function adminRequest(api: AdminApi, method: string, path: string, body?: unknown): Promise<AdminResponse> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, api.server),
      {
        method,
        ca: readFileSync(join(api.pki, 'ca.crt')),
        cert: readFileSync(join(api.pki, 'admin.crt')),
        key: readFileSync(join(api.pki, 'admin.key')),
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
