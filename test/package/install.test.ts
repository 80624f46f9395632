/**
 * The package as a user gets it: `npm pack`, then in an empty folder `npm init -y` and `npm i <tarball>` (with
 * onnxruntime-node's download of GPU files skipped, as on a machine without internet), then the installed
 * `fairhead` command, an ESM script that imports the library, and a TypeScript file checked against the installed
 * type declarations. Needs the npm registry (or an npm cache holding fairhead's dependencies).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/data.ts';

const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };
const work = mkdtempSync(join(tmpdir(), 'fairhead-install-'));
const project = join(work, 'project');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
let tarball = '';
let files: string[] = [];

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command (asynchronously: a long synchronous child would stall vitest's worker) and collect its output. */
function run(command: string, args: readonly string[], cwd = project): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, timeout: 240_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** `run`, failing with the command's stderr unless it exits 0. */
async function ok(command: string, args: readonly string[], cwd = project): Promise<Ran> {
  const r = await run(command, args, cwd);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r;
}

beforeAll(async () => {
  // npm pack runs prepare/prepack, which build dist/ (incrementally)
  const packed = JSON.parse((await ok(npm, ['pack', '--json', '--pack-destination', work], REPO)).stdout) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  mkdirSync(project);
  await ok(npm, ['init', '-y']);
  await ok(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball]);
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the npm package', () => {
  it('ships the compiled library with its declarations, the worker entry points, the CLI and the built-in data; no sources, tests or tsx bootstraps', () => {
    for (const f of [
      'package.json', 'bin/fairhead.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js',
      'dist/train/_internal/ops-worker-body.js', 'dist/train/_internal/ops-worker-wasm.mjs', 'dist/train/_internal/streaming-ops-worker-body.js',
      'data/adult/adult.data', 'data/adult/adult.test', 'data/adult/PROVENANCE.md', 'data/adult-predictions.csv', 'LICENSE', 'README.md', 'CHANGELOG.md',
    ]) expect(files, f).toContain(f);
    expect(files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('bench/') || f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // the .mjs files that register tsx serve the tests only
    expect(files.filter((f) => f.endsWith('.mjs') && readFileSync(join(REPO, f.replace(/^dist\//, 'src/')), 'utf8').includes("from 'tsx/"))).toEqual([]);
  });

  it('installs without TypeScript tooling: tsx, typescript and vitest are not among its dependencies', () => {
    for (const tool of ['tsx', 'typescript', 'vitest', 'esbuild']) expect(Object.keys(pkg.dependencies)).not.toContain(tool);
    expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', 'fairhead', 'dist', 'index.js'))).toBe(true);
  });

  it('`npx fairhead --version` prints the version', async () => {
    const r = await run('npx', ['--no-install', 'fairhead', '--version']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(r.status).toBe(0);
  });

  it('`npx fairhead demo --out d` runs the whole method on the built-in data and writes metrics.json', async () => {
    const r = await run('npx', ['--no-install', 'fairhead', 'demo', '--out', 'd', '--quiet']);
    expect(r.status, r.stderr).toBe(0);
    const metrics = JSON.parse(readFileSync(join(project, 'd', 'metrics.json'), 'utf8')) as { format: string; runs: { method: string }[] };
    expect(metrics.format).toBe('fairhead.metrics');
    expect(metrics.runs.map((x) => x.method)).toContain('m1');
    expect(existsSync(join(project, 'd', 'model', 'manifest.json'))).toBe(true);
    expect(r.stdout).toContain('m2');
  }, 240_000);

  it('an ESM script imports the library and fits a fair head on a tiny matrix', async () => {
    writeFileSync(join(project, 'fit.mjs'), `
import { fitHead, matrix, evaluateHead, VERSION } from 'fairhead';
// 8 rows, 2 features; label = first feature > 0; group = second feature's sign
const x = matrix(Float32Array.from([-2, -1, -1, 1, 1, -1, 2, 1, -1.5, -1, -0.5, 1, 0.5, -1, 1.5, 1]), 8, 2);
const set = { x, y: Int32Array.from([0, 0, 1, 1, 0, 0, 1, 1]), classes: ['no', 'yes'], group: Int32Array.from([0, 1, 0, 1, 0, 1, 0, 1]), groupNames: ['a', 'b'] };
const { head } = await fitHead(set, { constraint: 'eo', alpha: 1 });
const report = evaluateHead(head, set);
console.log(JSON.stringify({ version: VERSION, accuracy: report.accuracy, weights: head.toJSON().weights.length }));
process.exit(0);
`);
    const r = await run(process.execPath, ['fit.mjs']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { version: string; accuracy: number; weights: number };
    expect(out.version).toBe(pkg.version);
    expect(out.accuracy).toBe(1);
    expect(out.weights).toBe(2);
  });

  it('embeds an image with the face-api backbone on onnxruntime, without tfjs installed', async () => {
    for (const dep of ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm']) expect(Object.keys(pkg.dependencies)).not.toContain(dep);
    expect(existsSync(join(project, 'node_modules', '@tensorflow'))).toBe(false);
    writeFileSync(join(project, 'face.mjs'), `
import { loadFaceApiBackbone, matrix } from 'fairhead';
const net = await loadFaceApiBackbone();
const z = await net.embed(matrix(Float32Array.from({ length: 112 * 112 * 3 }, (_, i) => (i * 7) % 256), 1, 112 * 112 * 3));
console.log(JSON.stringify({ engine: net.engine, cols: z.cols, finite: z.data.every((v) => Number.isFinite(v) && v >= 0), positive: z.data.some((v) => v > 0) }));
await net.close();
`);
    const r = await run(process.execPath, ['face.mjs']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1) as string)).toEqual({ engine: expect.stringMatching(/^onnxruntime-node@/), cols: 512, finite: true, positive: true });
  });

  it('a TypeScript file type-checks against the installed declarations, and a wrong call does not', { timeout: 120_000 }, async () => {
    const tsc = createRequire(join(REPO, 'package.json')).resolve('typescript/bin/tsc');
    // a strict project that also checks the libraries' declarations (skipLibCheck off)
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true }, files: ['use.ts'] }));
    writeFileSync(join(project, 'use.ts'), `
import { fitHead, matrix, LinearHead, type EmbeddingSet, type FitResult } from 'fairhead';
const set: EmbeddingSet = { x: matrix(new Float32Array(4), 2, 2), y: Int32Array.from([0, 1]), classes: ['0', '1'], group: Int32Array.from([0, 1]), groupNames: ['a', 'b'] };
const fitted: Promise<FitResult> = fitHead(set, { constraint: 'dp', alpha: 2 });
export const head: Promise<LinearHead> = fitted.then((r) => r.head);
`);
    const good = await run(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(good.stdout + good.stderr).toBe('');
    expect(good.status).toBe(0);
    writeFileSync(join(project, 'use.ts'), `import { fitHead } from 'fairhead';\nexport const wrong = fitHead({ rows: 2 }, { constraint: 'eo' });\n`);
    const bad = await run(process.execPath, [tsc, '-p', 'tsconfig.json']);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/use\.ts\(2,\d+\): error TS\d+: Object literal may only specify known properties, and .rows. does not exist in type .EmbeddingSet./);
  });
});
