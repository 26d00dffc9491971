// Preloaded (`node --require`) by test/docs-switch.e2e-spec.ts: when the process exits, writes
// every module file it loaded (require.cache) to LOADED_MODULES_FILE, one a line.
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  writeFileSync(process.env.LOADED_MODULES_FILE, Object.keys(require.cache).join('\n'));
});
