#!/usr/bin/env node
/**
 * kemu-ingress: flags → options → start. It stands in for ingress-nginx's
 * /nginx-ingress-controller, so it takes that program's flags as its
 * Deployment passes them; the ones for features it does not have (the TCP
 * and UDP services ConfigMaps, the admission webhook's) are accepted and
 * named in the log, once, at start. The image says which release it is: the 0.x images of
 * quay.io set KEMU_INGRESS_NGINX_RELEASE=0.x (see the kubelet's image
 * catalog), and the controller then behaves as those did where it matters
 * (Ingress classes, the lock's name, rewrite-target). POD_NAME and
 * POD_NAMESPACE come from the Deployment's downward API, as ingress-nginx
 * requires them.
 */
import { Command } from 'commander';
import { pino } from 'pino';
import { stopOnSignals } from '@kemu/client/rest';
import { start, type IngressOptions } from './ingress.js';

const program = new Command('nginx-ingress-controller')
  .option('--publish-service <namespace/name>', 'the LoadBalancer Service whose addresses the Ingresses get as status')
  .option('--controller-class <name>', 'the IngressClass spec.controller served', 'k8s.io/ingress-nginx')
  .option('--ingress-class <name>', 'the class name of the kubernetes.io/ingress.class annotation served', 'nginx')
  .option('--watch-ingress-without-class [bool]', 'serve Ingresses without a class even when ours is not the default')
  .option('--http-port <port>', 'HTTP port', '80')
  .option('--https-port <port>', 'HTTPS port', '443')
  .option('--healthz-port <port>', '/healthz and /metrics port', '10254')
  .option('--conf-dir <dir>', "where nginx.conf, certificates and nginx's temporary files go", '/etc/nginx')
  .option('--nginx-binary <path>', 'the nginx program', 'nginx')
  .allowUnknownOption()
  .allowExcessArguments();
// The flags of the 0.x Deployments (mandatory.yaml), with ingress-nginx's defaults.
const LEGACY_FLAGS: [flags: string, help: string, byDefault?: string][] = [
  ['--default-backend-service <namespace/name>', 'the Service requests matching no rule go to (default: a 404 of nginx)'],
  ['--configmap <namespace/name>', "the ConfigMap of nginx settings (ingress-nginx's keys)"],
  ['--election-id <name>', 'the lock the replicas elect the status writer with', 'ingress-controller-leader'],
  ['--annotations-prefix <prefix>', 'the prefix of the annotations read', 'nginx.ingress.kubernetes.io'],
];
for (const [flags, help, byDefault] of LEGACY_FLAGS) program.option(flags, help, byDefault);
program.parse(process.argv);
const o = program.opts<Record<string, string | boolean | undefined>>();
const str = (k: string) => (typeof o[k] === 'string' ? o[k] : undefined);
const bool = (k: string) => o[k] === true || o[k] === 'true';
const log = pino({ name: 'ingress', level: process.env.LOG_LEVEL ?? 'info' });
const known = new Set(program.options.map((x) => x.long));
const ignored = program.args.filter((a) => a.startsWith('--') && !known.has(a.split('=')[0]));
if (ignored.length) log.info({ flags: ignored }, 'flags of ingress-nginx this controller does not implement, ignored');
const release = process.env.KEMU_INGRESS_NGINX_RELEASE;
const { POD_NAME, POD_NAMESPACE } = process.env;

const options: IngressOptions = {
  publishService: str('publishService'),
  controllerClass: str('controllerClass'),
  ingressClass: str('ingressClass'),
  watchWithoutClass: bool('watchIngressWithoutClass'),
  httpPort: Number(str('httpPort')),
  httpsPort: Number(str('httpsPort')),
  healthzPort: Number(str('healthzPort')),
  confDir: str('confDir'),
  nginxBinary: str('nginxBinary'),
  defaultBackendService: str('defaultBackendService'),
  configMap: str('configmap'),
  electionId: str('electionId') || undefined,
  annotationsPrefix: str('annotationsPrefix'),
  legacy: release?.startsWith('0.') ?? false,
  pod: POD_NAME && POD_NAMESPACE ? { name: POD_NAME, namespace: POD_NAMESPACE } : undefined,
};
if (options.legacy) log.info({ release }, 'behaving as ingress-nginx of before IngressClass: the class annotation alone decides');
try {
  const running = await start(options, log);
  stopOnSignals(running, log);
  const code = await running.failed;
  log.error({ code }, 'nginx exited; the controller exits too');
  await running.stop();
  process.exit(1);
} catch (err) {
  log.error({ err }, 'ingress controller failed to start');
  process.exit(1);
}
