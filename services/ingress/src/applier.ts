/**
 * Bringing nginx to the rendered configuration: render, and when the text
 * differs from what nginx runs, write the certificates it needs, test it,
 * and load it. When nginx's test refuses it, the line nginx names tells
 * which Ingress made that part; the configuration is rendered again without
 * that Ingress (it is reported as a problem, with nginx's message) and
 * tested again, so one Ingress nginx cannot take never keeps the others
 * from being served. The Ingress stays left out until it changes. A refusal
 * no Ingress can be blamed for keeps the running configuration and fails
 * the sync (retried with back-off).
 */
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Ingress } from 'kubernetes-types/networking/v1.js';
import type { Logger } from 'pino';
import type { ClusterState, Problem } from './config/model.js';
import { render, sslDir, type Rendered, type RenderOptions } from './config/render.js';
import type { IngressMetrics } from './metrics.js';
import type { Nginx } from './nginx.js';

export interface Applied {
  rendered: Rendered;
  /** Whether nginx was given a new configuration. */
  reloaded: boolean;
}

export class ConfigTestError extends Error {}

const keyOf = (i: Ingress) => `${i.metadata?.namespace ?? 'default'}/${i.metadata?.name ?? ''}`;

export class ConfigApplier {
  /** The configuration nginx runs. */
  private current?: string;
  /** Ingresses nginx refused, by key: left out while their resourceVersion stays the same. */
  private refused = new Map<string, { version: string; problem: Problem }>();

  constructor(
    private nginx: Nginx,
    private o: RenderOptions,
    private log: Logger,
    private metrics?: IngressMetrics,
  ) {}

  get running(): string | undefined {
    return this.current;
  }

  async apply(state: ClusterState): Promise<Applied> {
    const versions = new Map(state.ingresses.map((i) => [keyOf(i), i.metadata?.resourceVersion ?? '']));
    for (const [key, r] of this.refused) if (versions.get(key) !== r.version) this.refused.delete(key);
    for (;;) {
      const exclude = new Map([...this.refused].map(([k, r]) => [k, r.problem]));
      const rendered = render(state, this.o, exclude);
      if (rendered.config === this.current) return { rendered, reloaded: false };
      for (const f of rendered.files) if (!existsSync(f.path)) writeFileSync(f.path, f.content, { mode: 0o600 });
      const t = await this.nginx.test(rendered.config);
      if (t.ok) {
        await this.nginx.load();
        this.current = rendered.config;
        this.metrics?.reloaded(true, rendered.config);
        this.removeUnused(rendered);
        return { rendered, reloaded: true };
      }
      this.metrics?.reloaded(false);
      const owner = t.line === undefined ? undefined : rendered.owners.get(t.line);
      if (!owner || this.refused.has(owner)) {
        this.log.error({ output: t.output, line: t.line }, 'nginx refused the configuration; the running one stays');
        throw new ConfigTestError(`nginx -t: ${t.output}`);
      }
      this.log.warn({ ingress: owner, output: t.output }, 'nginx refused the configuration of an ingress; it is left out');
      this.refused.set(owner, { version: versions.get(owner) ?? '', problem: { ingress: owner, reason: 'ConfigTestFailed', message: t.output } });
    }
  }

  /** Certificates no longer loaded (nginx read them at its last reload, if ever). */
  private removeUnused(r: Rendered): void {
    const dir = sslDir(this.o.confDir);
    const keep = new Set([...r.files.map((f) => f.path), this.o.defaultCertificate]);
    for (const f of readdirSync(dir)) if (f.endsWith('.pem') && !keep.has(`${dir}/${f}`)) rmSync(`${dir}/${f}`, { force: true });
  }
}
