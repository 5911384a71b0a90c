// A jest reporter that ends a run which does not end by itself. Without --forceExit (which prints "Force
// exiting Jest" on every run and says nothing of why), a test that leaves a server, socket or timer open would
// hang jest until CI's timeout; this names what is still open (each socket's address) and ends the run with
// jest's own verdict. A leaked handle is a defect of the test to fix, reported here on every run until it is;
// the tests' results decide the run.
const GRACE_MS = 10_000;

class ExitWatchdog {
  onRunComplete(_contexts, results) {
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
          "Find it with `pnpm test -- --detectOpenHandles <path>`. Ending the run with the tests' verdict.",
      );
      process.exit(results.success ? 0 : 1);
    }, GRACE_MS).unref();
  }
}

module.exports = ExitWatchdog;
