#!/usr/bin/env node
// The operators' tool. From a build (dist/) it runs the compiled JavaScript; from a checkout, the TypeScript
// through ts-node, as the other npm scripts do.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..', '..');
const built = join(root, 'dist', 'apps', 'operations', 'src', 'cli.js');
let cli;
if (existsSync(built)) {
  cli = require(built);
} else {
  process.env.TS_NODE_PROJECT ??= join(root, 'tsconfig.json');
  require('ts-node').register({ swc: true, project: process.env.TS_NODE_PROJECT });
  require('tsconfig-paths/register');
  cli = require(join(root, 'apps', 'operations', 'src', 'cli.ts'));
}
cli.runCli(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(2);
  },
);
