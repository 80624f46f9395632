import { describe, expect, it } from 'vitest';
import { FitQueue, SupersededError } from '../../src/explore/fit-queue.ts';

/** A job that records its start, waits until released (or aborted), and returns its name. */
function controllable(log: string[]) {
  const releases = new Map<string, () => void>();
  const work = (name: string) => (signal: AbortSignal): Promise<string> =>
    new Promise((resolve, reject) => {
      log.push(`start ${name}`);
      releases.set(name, () => resolve(name));
      signal.addEventListener('abort', () => {
        log.push(`abort ${name}`);
        releases.delete(name);
        reject(signal.reason);
      });
    });
  const release = async (name: string): Promise<void> => {
    for (let i = 0; i < 50 && !releases.has(name); i++) await new Promise((r) => setTimeout(r, 1));
    releases.get(name)?.();
  };
  return { work, release };
}

describe('FitQueue', () => {
  it('runs one job at a time; a newer interactive job aborts the running one and replaces the waiting one', async () => {
    const log: string[] = [];
    const { work, release } = controllable(log);
    const queue = new FitQueue();
    const a = queue.interactive('a', work('a'));
    const b = queue.interactive('b', work('b'));
    const c = queue.interactive('c', work('c'));
    await expect(a).rejects.toBeInstanceOf(SupersededError);
    await expect(b).rejects.toBeInstanceOf(SupersededError);
    await release('c');
    await expect(c).resolves.toBe('c');
    // b never started: it was replaced while waiting
    expect(log).toEqual(['start a', 'abort a', 'start c']);
  });

  it('shares a job with the same key instead of starting it twice', async () => {
    const log: string[] = [];
    const { work, release } = controllable(log);
    const queue = new FitQueue();
    const first = queue.interactive('k', work('k'));
    const second = queue.interactive('k', work('k'));
    expect(second).toBe(first);
    await release('k');
    await expect(first).resolves.toBe('k');
    expect(log).toEqual(['start k']);
  });

  it('runs background work when idle, pushes it aside for an interactive job, and runs it again after', async () => {
    const log: string[] = [];
    const { work, release } = controllable(log);
    const queue = new FitQueue();
    queue.addBackground('bg1', async (signal) => void (await work('bg1')(signal)));
    queue.addBackground('bg2', async (signal) => void (await work('bg2')(signal)));
    expect(queue.backgroundPending).toBe(2);
    const x = queue.interactive('x', work('x'));
    await release('x');
    await x;
    await release('bg1');
    await release('bg2');
    await new Promise((r) => setTimeout(r, 5));
    expect(queue.backgroundPending).toBe(0);
    expect(log).toEqual(['start bg1', 'abort bg1', 'start x', 'start bg1', 'start bg2']);
  });

  it('never aborts an exclusive job, and drops background work it is told to', async () => {
    const log: string[] = [];
    const { work, release } = controllable(log);
    const queue = new FitQueue();
    const save = queue.runExclusive('save', work('save'));
    const x = queue.interactive('x', work('x'));
    queue.addBackground('old', async (signal) => void (await work('old')(signal)));
    queue.dropBackground((key) => key !== 'old');
    await release('save');
    await expect(save).resolves.toBe('save');
    await release('x');
    await expect(x).resolves.toBe('x');
    expect(log).toEqual(['start save', 'start x']);
  });

  it('close aborts the running job, rejects the queued ones and waits', async () => {
    const log: string[] = [];
    const { work } = controllable(log);
    const queue = new FitQueue();
    const a = queue.interactive('a', work('a'));
    queue.addBackground('bg', async (signal) => void (await work('bg')(signal)));
    await queue.close();
    await expect(a).rejects.toBeInstanceOf(SupersededError);
    expect(log).toEqual(['start a', 'abort a']);
  });
});
