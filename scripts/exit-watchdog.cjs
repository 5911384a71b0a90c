// A jest reporter that ends a run which does not end by itself. Without --forceExit (which prints "Force
// exiting Jest" on every run), a test that leaves a server, socket or timer open would hang jest until CI's
// timeout; this names what is still open and fails the run instead: a leaked handle is a defect of the test.
const GRACE_MS = 20_000;

class ExitWatchdog {
  onRunComplete() {
    setTimeout(() => {
      const open = process
        .getActiveResourcesInfo()
        .filter((r) => r !== 'TTYWrap' && r !== 'Timeout')
        .join(', ');
      console.error(
        `[test] jest has not exited ${GRACE_MS / 1000} s after its last test: a test left something open (${open || 'timers'}). ` +
          'Run the suite with `pnpm test -- --detectOpenHandles <path>` to find it. Failing the run.',
      );
      process.exit(1);
    }, GRACE_MS).unref();
  }
}

module.exports = ExitWatchdog;
