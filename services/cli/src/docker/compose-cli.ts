/**
 * The compose CLI at hand, driven through execa: `docker compose` (v2, the Docker
 * CLI's plugin) where it exists, else the standalone `docker-compose` (Debian's
 * 1.29). Everything the Docker driver does goes through the same compose file
 * `kemu up` reads, with the project name given by -p (1.29 refuses a top-level
 * `name:`) and the variables the file interpolates in the environment.
 */
import { execa, type Options, type Result } from 'execa';
import { KemuError } from '../errors.js';

/** argv of the compose CLI: ['docker', 'compose'] or ['docker-compose']; undefined when neither runs. */
export async function composeCommand(): Promise<string[] | undefined> {
  for (const argv of [['docker', 'compose'], ['docker-compose']]) {
    const [cmd = '', ...args] = argv;
    const r = await execa(cmd, [...args, 'version'], { reject: false, stdin: 'ignore' });
    if (r.exitCode === 0) return argv;
  }
  return undefined;
}

/** Does a Docker engine answer? (`docker info`, as the CLI the user has sees it.) */
export async function dockerAnswers(): Promise<boolean> {
  const r = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], { reject: false, stdin: 'ignore' });
  return r.exitCode === 0;
}

export interface ComposeTarget {
  /** The compose project (-p): container, network and volume names start with it. */
  project: string;
  file: string;
  /** The variables the compose file interpolates (KEMU_SUBNET, KEMU_NODES, ...). */
  env: Record<string, string>;
}

/** One compose project, run through the compose CLI. */
export class ComposeCli {
  private constructor(
    private readonly argv: string[],
    readonly target: ComposeTarget,
  ) {}

  static async open(target: ComposeTarget): Promise<ComposeCli> {
    const argv = await composeCommand();
    if (!argv)
      throw new KemuError("neither `docker compose` nor `docker-compose` runs here: install one (scripts/docker-base.sh installs Debian's docker-compose)");
    return new ComposeCli(argv, target);
  }

  /** `compose -p P -f FILE ARGS...`; rejects with compose's own stderr when it fails. */
  async run(args: string[], opts: Options = {}): Promise<Result> {
    const [cmd = '', ...pre] = this.argv;
    const env = { ...withoutHostPaths(process.env), ...this.target.env };
    try {
      return await execa(cmd, [...pre, '-p', this.target.project, '-f', this.target.file, ...args], { env, extendEnv: false, stdin: 'ignore', ...opts });
    } catch (e) {
      const err = e as { stderr?: unknown; shortMessage?: string };
      const detail = typeof err.stderr === 'string' && err.stderr.trim() ? err.stderr.trim().split('\n').slice(-5).join('\n') : (err.shortMessage ?? String(e));
      throw new KemuError(`${this.argv.join(' ')} ${args.join(' ')} failed:\n${detail}`);
    }
  }

  /** stdout of a command run in a service's container (the index-th replica); undefined when it fails. */
  async execOut(service: string, command: string[], index = 1): Promise<string | undefined> {
    const [cmd = '', ...pre] = this.argv;
    const r = await execa(cmd, [...pre, '-p', this.target.project, '-f', this.target.file, 'exec', '-T', `--index=${index}`, service, ...command], {
      env: { ...withoutHostPaths(process.env), ...this.target.env },
      extendEnv: false,
      stdin: 'ignore',
      reject: false,
    });
    return r.exitCode === 0 ? String(r.stdout) : undefined;
  }

  /** The ids of a service's containers, running or not, in replica order. */
  async containers(service?: string): Promise<string[]> {
    const filters = ['--filter', `label=com.docker.compose.project=${this.target.project}`];
    if (service) filters.push('--filter', `label=com.docker.compose.service=${service}`);
    const r = await execa('docker', ['ps', '-a', '--format', '{{.ID}} {{.Label "com.docker.compose.container-number"}}', ...filters], { stdin: 'ignore' });
    return String(r.stdout)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '))
      .sort((a, b) => Number(a[1]) - Number(b[1]))
      .map((l) => l[0] ?? '');
  }
}

/**
 * The environment without what `kemu up` sets for its own launcher: under Docker
 * the compose file's defaults (/app, /var/lib/kemu) must apply, whatever the
 * calling shell exported.
 */
function withoutHostPaths(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'KEMU_ROOT' && k !== 'KEMU_STATE' && k !== 'KEMU_PROJECT') out[k] = v;
  return out;
}
