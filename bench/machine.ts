import os from 'node:os';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A description of this machine, stored beside every benchmark result. */
export function machine(): { cpus: string; cores: number; memoryGiB: number; node: string; platform: string; date: string } {
  const cpus = os.cpus();
  return {
    cpus: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    date: new Date().toISOString(),
  };
}

/** Write bench/results/NAME.json atomically, with the machine noted. */
export function writeResult(name: string, result: Record<string, unknown>): void {
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}.json`;
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ ...result, machine: machine() }, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
