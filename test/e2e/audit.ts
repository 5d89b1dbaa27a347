/** The cluster's audit log, as `kemu logs audit` prints it (the api-server's --audit-log-path, one event a line). */
import { execFileSync } from 'node:child_process';
import { CLI } from './global-setup.js';
import { ctx, parseJson } from './helpers.js';

/** The fields of an audit.k8s.io/v1 Event the suites read. */
export interface AuditEvent {
  stage: string;
  verb: string;
  requestURI: string;
  auditID: string;
  user: { username: string; groups: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string };
  responseStatus?: { code: number; reason?: string };
  annotations?: Record<string, string>;
}

/** Every event written so far. */
export function auditEvents(): AuditEvent[] {
  const c = ctx();
  return execFileSync(process.execPath, [CLI, '-p', c.project, '--subnet', c.subnet, 'logs', 'audit'], {
    env: { ...process.env, KEMU_HOME: c.home },
    encoding: 'utf8',
    maxBuffer: 1024 * 1024 * 1024,
  })
    .split('\n')
    .filter(Boolean)
    .map((l) => parseJson<AuditEvent>(l));
}
