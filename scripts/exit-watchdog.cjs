// A jest reporter that fails a run which does not end by itself. Without --forceExit (which prints "Force
// exiting Jest" on every run and says nothing of why), a test that leaves a server, socket or timer open would
// hang jest until CI's timeout. A leaked handle is a defect — in a test, or in the product: a serverless
// instance that keeps a connection after close() holds it (and the broker's resources) for as long as the
// instance lives — so once the tests have ended, a run that is still alive 10 s later is ended here and fails
// (exit 1) even when every test passed, with what is still open named (each socket's address: its port names
// the server it was left connected to). A run that ends by itself is never touched. Not in watch mode, where
// jest is meant to stay.
const GRACE_MS = 10_000;

class ExitWatchdog {
  constructor(globalConfig) {
    this.watching = Boolean(globalConfig && (globalConfig.watch || globalConfig.watchAll));
  }

  onRunComplete(_contexts, results) {
    if (this.watching) return;
    setTimeout(() => {
      const open = process
        .getActiveResourcesInfo()
        .filter((r) => r !== 'TTYWrap' && r !== 'Timeout')
        .join(', ');
      // Where each open socket goes: the port names the server it was left connected to (Kafka, graph-sim, …).
      const sockets = process
        ._getActiveHandles()
        .filter((h) => h && h.constructor && h.constructor.name === 'Socket' && h.remotePort)
        .map((h) => `${h.localAddress}:${h.localPort} → ${h.remoteAddress}:${h.remotePort}`);
      console.error(
        `[test] jest has not exited ${GRACE_MS / 1000} s after its last test: a test left something open (${open || 'timers'}${sockets.length ? `; sockets ${sockets.join(', ')}` : ''}). ` +
          `The run fails: a leaked handle is a defect (the tests themselves ${results.success ? 'passed' : 'failed'}). ` +
          'Find it with `pnpm test -- --detectOpenHandles <path>`.',
      );
      process.exit(1);
    }, GRACE_MS).unref();
  }
}

module.exports = ExitWatchdog;
