/**
 * API Priority and Fairness around the REST handler: each request is
 * classified (flowcontrol-config.ts) by its user and what it asks for, waits
 * for a seat of its priority level (flowcontrol-queue.ts), and is answered
 * 429 with a Retry-After when its queue is full or it waited too long — so a
 * flooding client fills its own queues while the nodes, the controllers and
 * other users keep being served. Long-running requests (watches, exec,
 * attach, port-forward, proxy, logs) and the exempt level (system:masters,
 * probes) hold no seat, as in Kubernetes.
 *
 * Kemu's components talk gRPC, which is not under flow control; only the
 * REST front (kubectl, client libraries, pods) is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StatusError } from '@kemu/api';
import type { UserInfo } from './auth.js';
import { classify, nominalSeats, PRIORITY_LEVELS, type Classification } from './flowcontrol-config.js';
import { QueueSet, RetryAfter, realTimers, type RejectReason, type Timers } from './flowcontrol-queue.js';
import { isLongRunning, type RequestInfo } from './request-info.js';
import { sendStatus } from './respond.js';

export interface FlowControlOptions {
  /** kube-apiserver's --max-requests-inflight + --max-mutating-requests-inflight (400 + 200). */
  totalSeats: number;
  /** How long a request may wait in a queue (kube-apiserver: a quarter of its 60 s request timeout). */
  waitLimitMs: number;
  timers?: Timers;
  nowSeconds?: () => number;
  /** Told of every decision, for the apiserver_flowcontrol_* metrics. */
  observer?: FlowControlObserver;
}

export interface FlowControlObserver {
  rejected(c: Classification, reason: RejectReason): void;
  dispatched(c: Classification): void;
  /** A request started (+1) or stopped (-1) waiting in a queue. */
  inQueue(c: Classification, delta: number): void;
  /** A request started (+1) or finished (-1) holding a seat. */
  executing(c: Classification, delta: number): void;
}

/** The Status a rejected request gets (kube-apiserver writes the same sentence as plain text). */
export function tooManyRequests(retryAfterSeconds: number): StatusError {
  return new StatusError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds });
}

export class FlowControl {
  private readonly sets = new Map<string, QueueSet>();
  private readonly retryAfter = new Map<string, RetryAfter>();
  readonly seats: Map<string, number>;

  constructor(private readonly o: FlowControlOptions) {
    this.seats = nominalSeats(o.totalSeats);
    for (const pl of PRIORITY_LEVELS) {
      if (pl.exempt) continue;
      this.sets.set(pl.name, new QueueSet({ seats: this.seats.get(pl.name)!, queuing: pl.queuing, waitLimitMs: o.waitLimitMs }, o.timers ?? realTimers));
      this.retryAfter.set(pl.name, new RetryAfter(o.nowSeconds));
    }
  }

  /**
   * Serve `next` under flow control: now, later, or never (429). The seat is
   * given back when the response is finished or the connection closes.
   */
  serve(req: IncomingMessage, res: ServerResponse, user: UserInfo | undefined, info: RequestInfo, next: () => void): void {
    const c = classify(user, info);
    res.setHeader('X-Kubernetes-PF-FlowSchema-UID', c.flowSchema.uid);
    res.setHeader('X-Kubernetes-PF-PriorityLevel-UID', c.priorityLevel.uid);
    const set = this.sets.get(c.priorityLevel.name);
    if (!set || isLongRunning(info)) {
      next();
      return;
    }
    const obs = this.o.observer;
    let queued = false;
    let settled = false;
    const withdraw = set.request(c.flowKey, (a) => {
      settled = true;
      if (queued) obs?.inQueue(c, -1);
      if (a.kind === 'rejected') {
        obs?.rejected(c, a.reason);
        const after = this.retryAfter.get(c.priorityLevel.name)!.dropped();
        if (!res.headersSent && !res.destroyed) res.setHeader('Retry-After', String(after));
        sendStatus(res, tooManyRequests(after));
        return;
      }
      obs?.dispatched(c);
      obs?.executing(c, 1);
      const release = () => {
        res.off('finish', release);
        res.off('close', release);
        obs?.executing(c, -1);
        a.release();
      };
      res.on('finish', release);
      res.on('close', release);
      next();
    });
    if (!settled) {
      queued = true;
      obs?.inQueue(c, 1);
      // A client that gives up while waiting frees its place in the queue.
      res.on('close', () => {
        if (settled) return;
        settled = true;
        obs?.inQueue(c, -1);
        withdraw();
      });
    }
  }
}
