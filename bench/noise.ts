/**
 * `npm run bench -- noise`: how steady this machine is. One fixed one-thread job (multiply-adds over a 512 KB array,
 * in cache) timed back to back for NOISE_SECONDS (default 40): on a machine of its own every round takes the same
 * time; on a shared one, rounds slow down in bursts when other jobs take the cores. Writes the rounds' quantiles,
 * the share of rounds more than 1.3x the fastest tenth, and the longest run of such rounds to
 * bench/results/noise.json. `npm run bench -- cnn` runs the same probe before and after its trainings.
 */
import os from 'node:os';
import { noiseProbe, writeResult } from './machine.ts';

const seconds = Number(process.env['NOISE_SECONDS'] ?? 40);
const probe = noiseProbe(seconds);
process.stdout.write(`rounds ${probe.rounds}: p10 ${probe.roundMs.p10} ms, p50 ${probe.roundMs.p50}, p90 ${probe.roundMs.p90}; ${Math.round(100 * probe.slowShare)}% of rounds over 1.3x the fastest tenth, longest such run ${probe.longestSlowRunSeconds} s\n`);
writeResult('noise', {
  what: `one fixed one-thread job (400 passes of multiply-adds over 65,536 doubles) timed back to back for ${seconds} s`,
  command: 'npm run bench -- noise',
  ...probe,
  load: Math.round((os.loadavg()[0] as number) * 100) / 100,
});
