/**
 * Event recording as client-go's recorder does it: an Event per
 * (object, type, reason, message, source), and repeats of the same one
 * counted on the existing Event (count, lastTimestamp) instead of new ones,
 * so `kubectl describe` shows `(x3 over 10s)`.
 */
import { formatTime, isNotFound, type KubeObject } from '@kemu/api';
import type { ApiClient } from './api-client.js';

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

const EVENTS = { version: 'v1', resource: 'events' };

export class EventRecorder {
  private recent = new Map<string, { name: string; namespace: string; count: number }>();

  constructor(
    private client: Pick<ApiClient, 'create' | 'patch'>,
    private source: EventSource,
    private now: () => Date = () => new Date(),
  ) {}

  private pending: (() => Promise<void>)[] = [];
  private running = 0;

  /**
   * Record an event about `obj`; never throws (events are best effort, as in
   * Kubernetes). Events are written in the background, a few at a time, so
   * they never crowd out the component's own work.
   */
  event(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    return new Promise((resolve) => {
      this.pending.push(() => this.write(obj, type, reason, message).finally(resolve));
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < 4 && this.pending.length) {
      const next = this.pending.shift()!;
      this.running++;
      void next().finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async write(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = obj.metadata.namespace || 'default';
    const dedup = [obj.metadata.uid, obj.kind, obj.metadata.name, type, reason, message, this.source.component].join('\0');
    const now = formatTime(this.now());
    const seen = this.recent.get(dedup);
    try {
      if (seen) {
        try {
          const count = seen.count + 1;
          await this.client.patch({ ...EVENTS, namespace: seen.namespace }, seen.name, { count, lastTimestamp: now });
          seen.count = count;
          return;
        } catch (e) {
          if (!isNotFound(e)) throw e;
          this.recent.delete(dedup);
        }
      }
      const name = `${obj.metadata.name}.${(Date.now() * 1e6 + Math.floor(Math.random() * 1e6)).toString(16)}`;
      await this.client.create(
        { ...EVENTS, namespace },
        {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            kind: obj.kind,
            namespace: obj.metadata.namespace,
            name: obj.metadata.name,
            uid: obj.metadata.uid,
            apiVersion: obj.apiVersion,
            resourceVersion: obj.metadata.resourceVersion,
          },
          reason,
          message,
          type,
          source: this.source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          reportingComponent: this.source.component,
          reportingInstance: this.source.host ?? '',
        },
      );
      this.recent.set(dedup, { name, namespace, count: 1 });
      if (this.recent.size > 4096) this.recent.delete(this.recent.keys().next().value!);
    } catch {
      /* best effort */
    }
  }
}
