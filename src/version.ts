import { readFileSync } from 'node:fs';

/**
 * fairhead's version, read from the package's own package.json (one folder up from this module, in src/ and in
 * dist/ alike).
 *
 * @example
 * VERSION; // '0.1.0'
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
