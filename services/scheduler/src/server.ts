/** The scheduler process: while it leads (Lease `kube-scheduler`), informers feed the scheduling loop. */
import { pino, type Logger } from 'pino';
import { EventRecorder, prom, InformerFactory, runComponent, type ComponentOptions, type RunningComponent } from '@kemu/client';
import { Scheduler } from './scheduler.js';

export type SchedulerOptions = Omit<ComponentOptions, 'leaseName'>;

export async function start(
  o: SchedulerOptions,
  log: Logger = pino({ name: 'scheduler' }),
  onLost: () => void = () => process.exit(1),
): Promise<RunningComponent> {
  // Filled in once the component (and its metrics registry) exists; the scheduler only runs after that.
  const metrics: { bound?: prom.Counter<'result'> } = {};
  const component = await runComponent(
    { port: 10259, ...o, leaseName: 'kube-scheduler', onWaiting: () => log.info({ apiserver: o.apiserver }, 'waiting for the api-server') },
    async (client, signal) => {
      log.info('became leader; scheduling');
      const informers = new InformerFactory(client, (err) => log.warn({ err: String(err) }, 'informer error'));
      const scheduler = new Scheduler({
        client,
        informers,
        recorder: new EventRecorder(client, { component: 'default-scheduler' }),
        log,
        onBound: () => metrics.bound?.inc({ result: 'scheduled' }),
      });
      signal.addEventListener('abort', () => informers.stop(), { once: true });
      await informers.start();
      await scheduler.run(signal);
    },
    () => {
      log.error('leader election lost');
      onLost();
    },
  );
  metrics.bound = new prom.Counter({
    name: 'scheduler_schedule_attempts_total',
    help: 'Pods bound by this scheduler.',
    labelNames: ['result'],
    registers: [component.metrics],
  });
  return component;
}
