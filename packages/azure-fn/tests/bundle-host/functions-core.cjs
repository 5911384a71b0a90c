// Stand-in for `@azure/functions-core`, the module the Functions host's Node worker provides to the app (the
// host cannot be installed here). It records what the app registers, as the worker would, so a test can check
// the registrations and call the handlers the way the host does.
'use strict';
const registrations = [];
module.exports = {
  registrations,
  setProgrammingModel() {},
  getProgrammingModel() {
    return undefined;
  },
  registerFunction(metadata, handler) {
    registrations.push({ metadata, handler });
    return { dispose() {} };
  },
  registerHook() {
    return { dispose() {} };
  },
  log(level, category, message) {
    process.stderr.write(`[functions-core ${level} ${category}] ${message}\n`);
  },
};
