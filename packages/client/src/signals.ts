/** A long-running program's end: on SIGTERM/SIGINT, its component's stop, then exit. */

/** Stop cleanly on SIGTERM/SIGINT (a leader gives its lease up), and log what would otherwise be lost. */
export function stopOnSignals(
  component: { stop(): Promise<void> },
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void },
): void {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    process.on(sig, () => {
      log.info({ signal: sig }, 'stopping');
      void component.stop().then(() => process.exit(0));
    });
  }
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  // A component never dies of one bad request or callback: it logs loudly and carries on.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception'));
}
