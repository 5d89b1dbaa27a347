/**
 * The ClusterRole aggregation controller: a ClusterRole with an
 * aggregationRule (admin, edit, view, or a user's own) has as its rules the
 * rules of every ClusterRole its selectors match, kept current as those
 * change — how `kubectl get clusterrole view -o yaml` comes to list the
 * aggregate-to-view rules, and how a CRD's roles join admin/edit/view.
 */
import { fromLabelSelector, isNotFound, isConflict, matches } from '@kemu/api';
import { WorkQueue } from '@kemu/client';
import type { ClusterRole, PolicyRule } from 'kubernetes-types/rbac/v1.js';
import { R, runWorkers, type Controller, type ControllerContext } from '../context.js';
import { clientFor, informerFor, type TypedInformer } from '../typed.js';

const sameRule = (a: PolicyRule, b: PolicyRule) => JSON.stringify(a) === JSON.stringify(b);

/** The rules an aggregated role should have: those of the roles its selectors match (by name order, without repeats). */
export function aggregatedRules(role: ClusterRole, all: ClusterRole[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const selectors = (role.aggregationRule?.clusterRoleSelectors ?? []).map(fromLabelSelector);
  const sources = all
    .filter((r) => r.metadata?.name !== role.metadata?.name && selectors.some((s) => matches(s, r.metadata?.labels)))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const src of sources) for (const rule of src.rules ?? []) if (!out.some((r) => sameRule(r, rule))) out.push(rule);
  return out;
}

export class ClusterRoleAggregationController implements Controller {
  readonly name = 'clusterrole-aggregation';
  private queue = new WorkQueue();
  private roles: TypedInformer<ClusterRole>;

  constructor(private ctx: ControllerContext) {
    this.roles = informerFor(ctx.informers, R.clusterroles);
    // Any role's change may change what an aggregated role gathers: look at every aggregated role again.
    const all = () => {
      for (const r of this.roles.lister.list()) if (r.aggregationRule) this.queue.add(r.metadata.name!);
    };
    this.roles.on({ add: all, update: all, delete: all });
  }

  run(workers: number, signal: AbortSignal): Promise<void> {
    return runWorkers(this.ctx, this.name, this.queue, workers, signal, (k) => this.sync(k));
  }

  async sync(name: string): Promise<void> {
    const role = this.roles.lister.get(name);
    if (!role?.aggregationRule) return;
    const rules = aggregatedRules(role, this.roles.lister.list());
    if (JSON.stringify(rules) === JSON.stringify(role.rules ?? [])) return;
    try {
      await clientFor(this.ctx.client, R.clusterroles).update({ ...structuredClone(role), rules });
    } catch (e) {
      if (isConflict(e)) this.queue.add(name);
      else if (!isNotFound(e)) throw e;
    }
  }
}

export const clusterRoleAggregationController = (ctx: ControllerContext) => new ClusterRoleAggregationController(ctx);
