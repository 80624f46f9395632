/**
 * One fit at a time, the newest request first. The trainer's WebAssembly kernels, worker threads and the shared
 * memory of the drawn fine-tuning sets serve one fit at a time, and a person dragging a slider wants the head of
 * where the slider is now, not of every step it passed: so a new interactive job replaces the one waiting and
 * aborts the one running (its promise rejects with {@link SupersededError}), background work (the sweep that draws
 * the trade-off curve) runs only when no interactive job waits and is aborted and put back when one arrives, and
 * exclusive jobs (saving) are never aborted.
 */

/** The reason of a job that a newer request made stale. */
export class SupersededError extends Error {
  constructor() {
    super('superseded by a newer request');
    this.name = 'SupersededError';
  }
}

type Work<T> = (signal: AbortSignal) => Promise<T>;

interface Job {
  readonly kind: 'interactive' | 'background' | 'exclusive';
  readonly key: string;
  readonly work: Work<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly promise: Promise<unknown>;
}

/**
 * The queue of fits of one explore session.
 *
 * @example
 * const queue = new FitQueue();
 * const a = queue.interactive('alpha=1', (signal) => fitHead(set, { alpha: 1, signal }));
 * const b = queue.interactive('alpha=2', (signal) => fitHead(set, { alpha: 2, signal })); // a rejects with SupersededError
 */
export class FitQueue {
  private running: { job: Job; controller: AbortController } | null = null;
  private waiting: Job | null = null;
  private readonly exclusive: Job[] = [];
  private background: Job[] = [];
  private closed = false;

  /**
   * Run `work` as soon as the running job ends (aborting a running interactive or background job first, unless
   * that background job has the same key); an interactive job of the same `key` already running or waiting is
   * shared instead. Rejects with SupersededError when a newer
   * interactive job replaces it before or while it runs.
   */
  interactive<T>(key: string, work: Work<T>): Promise<T> {
    const running = this.running?.job;
    if (running && running.kind === 'interactive' && running.key === key && !this.running?.controller.signal.aborted) return running.promise as Promise<T>;
    if (this.waiting?.key === key) return this.waiting.promise as Promise<T>;
    const job = this.job('interactive', key, work);
    this.waiting?.reject(new SupersededError());
    this.waiting = job;
    // a background job fitting this very key is left to finish: the new job then finds its result
    if (this.running && this.running.job.kind !== 'exclusive' && !(this.running.job.kind === 'background' && this.running.job.key === key)) {
      this.running.controller.abort(new SupersededError());
    }
    this.pump();
    return job.promise as Promise<T>;
  }

  /** Run `work` alone, after the running job (background work is aborted and put back), never aborted itself. */
  runExclusive<T>(key: string, work: Work<T>): Promise<T> {
    const job = this.job('exclusive', key, work);
    this.exclusive.push(job);
    if (this.running?.job.kind === 'background') this.running.controller.abort(new SupersededError());
    this.pump();
    return job.promise as Promise<T>;
  }

  /** Queue background work (after every waiting interactive or exclusive job); keys already queued are skipped. */
  addBackground(key: string, work: Work<void>): void {
    if (this.closed || this.background.some((j) => j.key === key) || (this.running?.job.kind === 'background' && this.running.job.key === key)) return;
    const job = this.job('background', key, work);
    job.promise.catch(() => undefined);
    this.background.push(job);
    this.pump();
  }

  /** Drop the queued background work whose key fails `keep` (e.g. the sweep of a setting the page has left). */
  dropBackground(keep: (key: string) => boolean): void {
    const dropped = this.background.filter((j) => !keep(j.key));
    this.background = this.background.filter((j) => keep(j.key));
    for (const j of dropped) j.reject(new SupersededError());
  }

  /** Background jobs queued or running (for a progress display). */
  get backgroundPending(): number {
    return this.background.length + (this.running?.job.kind === 'background' ? 1 : 0);
  }

  /** Stop: queued jobs are rejected, the running one aborted unless exclusive; resolves when it has ended. */
  async close(): Promise<void> {
    this.closed = true;
    for (const j of [...this.background, ...(this.waiting ? [this.waiting] : [])]) j.reject(new SupersededError());
    this.background = [];
    this.waiting = null;
    const running = this.running;
    if (running && running.job.kind !== 'exclusive') running.controller.abort(new SupersededError());
    while (this.running || this.exclusive.length > 0) await (this.running?.job.promise ?? this.exclusive[0]?.promise)?.catch(() => undefined);
  }

  private job(kind: Job['kind'], key: string, work: Work<unknown>): Job {
    let resolve!: (value: unknown) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { kind, key, work, resolve, reject, promise };
  }

  private pump(): void {
    if (this.running) return;
    let job: Job | undefined = this.exclusive.shift();
    if (!job && this.waiting) {
      job = this.waiting;
      this.waiting = null;
    }
    if (!job && !this.closed) job = this.background.shift();
    if (!job) return;
    const controller = new AbortController();
    const current = { job, controller };
    this.running = current;
    const settle = (): void => {
      this.running = null;
      // the next job starts after the event loop's turn: requests that came in meanwhile are read first
      setImmediate(() => this.pump());
    };
    job.work(controller.signal).then(
      (value) => {
        job.resolve(value);
        settle();
      },
      (error: unknown) => {
        if (job.kind === 'background' && controller.signal.aborted && !this.closed) {
          // pushed aside by an interactive or exclusive job: its turn comes again
          this.background.unshift(this.job('background', job.key, job.work));
          this.background[0]!.promise.then(job.resolve, job.reject);
        } else {
          job.reject(controller.signal.aborted ? (controller.signal.reason as unknown) : error);
        }
        settle();
      },
    );
  }
}
