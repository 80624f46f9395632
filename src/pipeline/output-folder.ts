import { accessSync, constants, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { InputError } from '../errors.ts';

/**
 * Check, before any work, that `out` can be the output folder: it is a folder, or it does not exist yet and its
 * nearest existing ancestor is a writable folder (the folder is created when the first output is written).
 * Creates nothing, so a run refused later leaves no trace. `option` names the flag in messages.
 *
 * Rule for outputs: every file a run writes goes exactly under the resolved `out` path (`a/../b` is `b`); the
 * embedding cache (`--cache-dir`) is the only other place fairhead writes to.
 *
 * @example
 * checkOutputFolder('results/run-1'); // ok when results/ is a writable folder or does not exist
 * checkOutputFolder('data.csv');      // InputError: --out data.csv: is a file, expected a folder ...
 */
export function checkOutputFolder(out: string, option = '--out'): void {
  let path = resolve(out);
  for (;;) {
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(path) !== path) {
        path = dirname(path);
        continue;
      }
      throw new InputError(`${option} ${out}: cannot use as the output folder (${code ?? String(error)})`);
    }
    if (!isDir) {
      const what = path === resolve(out) ? 'is a file' : `${path} is a file, so no folder can be made inside it`;
      throw new InputError(`${option} ${out}: ${what}; expected an output folder (created if missing)`);
    }
    try {
      accessSync(path, constants.W_OK);
    } catch {
      throw new InputError(`${option} ${out}: ${path} is not writable; choose another output folder`);
    }
    return;
  }
}

/**
 * Remove the temporary files and folders (`NAME.PID.tmp`, see writeFileAtomic and {@link replaceFolder}) that a
 * process killed while writing left in `out` or its `model/` folder; those of a process still running are kept. Called before a run writes, so a
 * re-run after a crash leaves only complete files.
 *
 * @example
 * removeStaleTempFiles('out'); // ['out/report.html.4242.tmp'] when process 4242 is gone
 */
export function removeStaleTempFiles(out: string): string[] {
  const removed: string[] = [];
  for (const dir of [out, join(out, 'model')]) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = /\.(\d+)\.tmp$/.exec(name)?.[1];
      if (pid === undefined || isRunning(Number(pid))) continue;
      rmSync(join(dir, name), { recursive: true, force: true });
      removed.push(join(dir, name));
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Write a folder so that `dir` is always either the old complete folder, absent, or the new complete one (never
 * new files mixed with old, e.g. a new backbone beside an old manifest): `write` fills `dir.PID.tmp/`, then the
 * old `dir` is renamed aside (`dir.old.PID.tmp/`, removed after) and the new one renamed into place; a kill
 * between the two renames leaves no `dir` at all (the re-run cleans up). Returns `write`'s files under their final paths.
 *
 * @example
 * await replaceFolder('out/model', (tmp) => saveModelBundle(tmp, ...)); // ['out/model/manifest.json', ...]
 */
export async function replaceFolder(dir: string, write: (staging: string) => Promise<string[]>): Promise<string[]> {
  const staging = `${dir}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  try {
    const files = await write(staging);
    // move the old folder aside in one rename (deleting it file by file could be cut short by a kill)
    const old = `${dir}.old.${process.pid}.tmp`;
    let moved = true;
    try {
      renameSync(dir, old);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      moved = false;
    }
    renameSync(staging, dir);
    if (moved) rmSync(old, { recursive: true, force: true });
    return files.map((f) => join(dir, relative(staging, f)));
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
