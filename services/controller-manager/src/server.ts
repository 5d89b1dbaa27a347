/**
 * The controller-manager: while it leads (Lease `kube-controller-manager`
 * in kube-system), shared informers feed every controller of CONTROLLERS.
 */
import { pino, type Logger } from 'pino';
import { EventRecorder, InformerFactory, runComponent, type ComponentOptions, type RunningComponent } from '@kemu/client';
import { CONTROLLERS } from './controllers/index.js';
import type { ControllerContext } from './context.js';
import { readFileSync } from 'node:fs';

function readRootCA(file: string | undefined): string | undefined {
  try {
    return file ? readFileSync(file, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

export type ControllerManagerOptions = Omit<ComponentOptions, 'leaseName'> & { controllers?: string[]; rootCAFile?: string };

export async function start(o: ControllerManagerOptions, log: Logger = pino({ name: 'controller-manager' }), onLost: () => void = () => process.exit(1)): Promise<RunningComponent> {
  return runComponent(
    { port: 10257, ...o, leaseName: 'kube-controller-manager' },
    async (client, signal) => {
      log.info('became leader; starting controllers');
      const informers = new InformerFactory(client, (err) => log.warn({ err }, 'informer error'));
      const ctx: ControllerContext = { client, informers, recorder: new EventRecorder(client, { component: 'controller-manager' }), log, now: () => new Date(), rootCA: readRootCA(o.rootCAFile ?? o.caFile) };
      const chosen = CONTROLLERS.filter((c) => !o.controllers || o.controllers.includes(c.name));
      const controllers = chosen.map((c) => ({ c: c.start(ctx), workers: c.workers }));
      signal.addEventListener('abort', () => informers.stop(), { once: true });
      await informers.start();
      log.info({ controllers: chosen.map((c) => c.name) }, 'controllers running');
      await Promise.all(controllers.map(({ c, workers }) => c.run(workers, signal)));
    },
    () => {
      log.error('leader election lost');
      onLost();
    },
  );
}
