/**
 * API Priority and Fairness for both of the api-server's fronts: each request
 * is classified (flowcontrol-config.ts) by its user and what it asks for,
 * waits for a seat of its priority level (flowcontrol-queue.ts), and is
 * refused with 429 TooManyRequests and a Retry-After when its queue is full
 * or it waited too long — so a flooding client fills its own queues while the
 * nodes, the controllers and other users keep being served. Long-running
 * requests (watches, exec, attach, port-forward, proxy, logs) and the exempt
 * level (system:masters, probes) hold no seat, as in Kubernetes.
 *
 * `admit` is the one place that decides and holds the seat; the REST front
 * (`serve`, below) and the components' gRPC front (grpc/flowcontrol.ts) are
 * thin adapters around it, so a request takes a seat from the same set of
 * seats whichever way it came, as every request of kube-apiserver does.
 */
import type { ServerResponse } from 'node:http';
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

/** What a front does with a request once flow control has decided. */
export interface AdmitHandlers {
  /** Serve the request now. */
  run(c: Classification): void;
  /** Answer it with this 429 Status, nothing served. */
  reject(e: StatusError, c: Classification): void;
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
   * Decide a request's fate: `run` it now or once a seat frees (it then holds
   * the seat, unless exempt or long-running), or `reject` it with the 429
   * Status (its retryAfterSeconds set). The function returned must be called
   * when the request is finished or its client went away: it gives the seat
   * back, or the request's place in its queue. Calling it again does nothing.
   */
  admit(user: UserInfo | undefined, info: RequestInfo, on: AdmitHandlers): () => void {
    const c = classify(user, info);
    const set = this.sets.get(c.priorityLevel.name);
    if (!set || isLongRunning(info)) {
      on.run(c);
      return () => undefined;
    }
    const obs = this.o.observer;
    let state: 'asking' | 'waiting' | 'running' | 'over' = 'asking';
    let release: () => void = () => undefined;
    const withdraw = set.request(c.flowKey, (a) => {
      if (state === 'waiting') obs?.inQueue(c, -1);
      if (a.kind === 'rejected') {
        state = 'over';
        obs?.rejected(c, a.reason);
        on.reject(tooManyRequests(this.retryAfter.get(c.priorityLevel.name)!.dropped()), c);
        return;
      }
      state = 'running';
      release = a.release;
      obs?.dispatched(c);
      obs?.executing(c, 1);
      on.run(c);
    });
    if (state === 'asking') {
      state = 'waiting';
      obs?.inQueue(c, 1);
    }
    return () => {
      if (state === 'waiting') {
        obs?.inQueue(c, -1);
        withdraw();
      } else if (state === 'running') {
        obs?.executing(c, -1);
        release();
      }
      state = 'over';
    };
  }

  /**
   * The REST front: serve `next` under flow control, now, later, or never
   * (429 with a Retry-After header). The seat is given back when the response
   * is finished or the connection closes; a client that leaves while waiting
   * frees its place in the queue.
   */
  serve(res: ServerResponse, user: UserInfo | undefined, info: RequestInfo, next: () => void): void {
    const headers = (c: Classification) => {
      if (res.headersSent || res.destroyed) return;
      res.setHeader('X-Kubernetes-PF-FlowSchema-UID', c.flowSchema.uid);
      res.setHeader('X-Kubernetes-PF-PriorityLevel-UID', c.priorityLevel.uid);
    };
    // Listening before admitting: a response finished at once still gives its seat back.
    let done: (() => void) | undefined = undefined;
    let ended = false;
    const end = () => {
      ended = true;
      done?.();
    };
    res.once('finish', end);
    res.once('close', end);
    done = this.admit(user, info, {
      run: (c) => {
        headers(c);
        next();
      },
      reject: (e, c) => {
        headers(c);
        if (!res.headersSent && !res.destroyed) res.setHeader('Retry-After', String(e.status.details?.retryAfterSeconds ?? 1));
        sendStatus(res, e);
      },
    });
    if (ended) done();
  }
}
