/**
 * A vitest reporter that lists every skipped test by its full name at the end of the run, so that a skip (the
 * real-face tests without FAIRHEAD_UTKFACE) is visible in `npm test`'s output and not only as a count.
 */
import type { Reporter } from 'vitest/reporters';

type Task = { name: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

function skipped(task: Task, path: string[], out: string[]): void {
  const here = [...path, task.name];
  if (task.tasks !== undefined) {
    for (const t of task.tasks) skipped(t, here, out);
  } else if (task.mode === 'skip' || task.result?.state === 'skip') {
    out.push(here.join(' > '));
  }
}

export default class SkippedReporter implements Reporter {
  onFinished(files: readonly Task[] = []): void {
    const out: string[] = [];
    for (const f of files) skipped(f, [], out);
    if (out.length === 0) return;
    process.stdout.write(`\nSkipped (${out.length}):\n${out.map((s) => `  - ${s}`).join('\n')}\n`);
  }
}
