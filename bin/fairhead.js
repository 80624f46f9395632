#!/usr/bin/env node
// The fairhead command: runs the compiled CLI (dist/cli/main.js) on plain Node.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write(`fairhead: ${compiled} is missing; in a clone of the repository, run \`npm run build\` (npm ci does it)\n`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(compiled).href);
process.exitCode = await main(process.argv.slice(2));
