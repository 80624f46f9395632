import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, silentProgress } from '../src/progress.ts';

/** A real stream that records what is written; `isTTY` set as a terminal would. */
function sink(isTTY: boolean): { stream: PassThrough & { isTTY?: boolean; columns?: number }; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY, columns: 120 });
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('createProgress', () => {
  it('prints nothing with quiet, even on a terminal', () => {
    const s = sink(true);
    const bar = createProgress({ label: 'embedding', total: 10, quiet: true, delayMs: 0, stream: s.stream });
    expect(bar).toBe(silentProgress);
    bar.update(5);
    bar.stop();
    expect(s.text()).toBe('');
  });

  it('prints nothing when stderr is not a terminal, unless forced', () => {
    const s = sink(false);
    expect(createProgress({ label: 'embedding', total: 10, delayMs: 0, stream: s.stream })).toBe(silentProgress);
  });

  it('shows label, count, rate and ETA when forced without a terminal', () => {
    const s = sink(false);
    const bar = createProgress({ label: 'embedding images', total: 10, unit: 'img', force: true, delayMs: 0, stream: s.stream });
    bar.update(1);
    bar.increment(2);
    bar.stop();
    bar.stop(); // a second stop is harmless
    const out = s.text();
    expect(out).toContain('embedding images [');
    expect(out).toContain('3/10 img');
    expect(out).toMatch(/\d+\.\d img\/s/);
    expect(out).toContain('ETA');
  });

  it('stays silent for a step shorter than its delay', () => {
    const s = sink(true);
    const bar = createProgress({ label: 'quick', total: 3, delayMs: 60_000, stream: s.stream });
    bar.update(3);
    bar.stop();
    expect(s.text()).toBe('');
  });
});
