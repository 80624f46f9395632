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

/** How steady the machine is over the next `seconds`: see bench/noise.ts. */
export interface NoiseProbe {
  readonly rounds: number;
  /** Quantiles of one round's time (ms). */
  readonly roundMs: { p10: number; p50: number; p90: number; max: number };
  /** Share of rounds over 1.3x the fastest tenth. */
  readonly slowShare: number;
  readonly longestSlowRunSeconds: number;
}

/**
 * Time one fixed one-thread job (400 passes of multiply-adds over 65,536 doubles, in cache) back to back for
 * `seconds`: on a machine of its own every round takes the same time; on a shared one rounds slow down in bursts.
 */
export function noiseProbe(seconds: number): NoiseProbe {
  const values = new Float64Array(1 << 16).map((_, i) => i);
  const rounds: number[] = [];
  const end = performance.now() + seconds * 1000;
  let sink = 0;
  while (performance.now() < end) {
    const t = performance.now();
    let s = 0;
    for (let r = 0; r < 400; r++) for (let i = 0; i < values.length; i++) s += (values[i] as number) * 1.0000001;
    sink += s;
    rounds.push(performance.now() - t);
  }
  if (sink === 42) rounds.push(0); // keeps the loop's result alive
  const sorted = [...rounds].sort((a, b) => a - b);
  const q = (f: number): number => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] as number;
  let slow = 0;
  let run = 0;
  let longest = 0;
  for (const r of rounds) {
    if (r > 1.3 * q(0.1)) {
      slow++;
      run++;
      longest = Math.max(longest, run);
    } else run = 0;
  }
  const round2 = (v: number): number => Math.round(v * 100) / 100;
  return {
    rounds: rounds.length,
    roundMs: { p10: round2(q(0.1)), p50: round2(q(0.5)), p90: round2(q(0.9)), max: round2(q(1)) },
    slowShare: round2(slow / rounds.length),
    longestSlowRunSeconds: round2((longest * q(0.5)) / 1000),
  };
}
