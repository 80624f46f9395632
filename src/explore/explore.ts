/**
 * `fairhead explore`: embed once, then serve a page on which a person chooses the fairness/accuracy trade-off while
 * the last layer is re-trained live (session.ts: the fits and views; server.ts: the HTTP shell; page.ts and
 * assets/: what the browser shows).
 */
import { join } from 'node:path';
import { InputError } from '../errors.ts';
import { prepareData, type PrepareHooks } from '../pipeline/prepare.ts';
import { optionsRecord, type OptionsRecord } from '../pipeline/run-command.ts';
import { METHODS, type BackboneOptions, type DataOptions, type HeadOptions } from '../pipeline/run-options.ts';
import { buildReport } from '../report/build-report.ts';
import { readMetricsFile } from '../report/metrics-file.ts';
import type { RunRecord } from '../report/schema.ts';
import { ExploreSession } from './session.ts';
import { startExploreServer, type ExploreServer } from './server.ts';

/** Options of {@link startExplore}: the data and backbone of `fairhead run`, the page's first head, and the server's. */
export interface ExploreOptions extends DataOptions, BackboneOptions, Partial<HeadOptions> {
  /** Where the page's "save" writes the chosen head, as `fairhead run --out` (default `fairhead-explore`). */
  readonly out?: string;
  /** Address to bind (default 127.0.0.1). */
  readonly host?: string;
  /** Port (default 0: any free one). */
  readonly port?: number;
  /** Fit the strength sweep of the trade-off curve in the background (default true). */
  readonly sweep?: boolean;
  /** The access token (default: random). */
  readonly token?: string;
}

/** A running `fairhead explore`. */
export interface Explore {
  readonly session: ExploreSession;
  readonly server: ExploreServer;
}

/**
 * Prepare the data as `fairhead run` does (the same prepareData: data, splits, backbone, embedding cache), then
 * start the session and its server. `groupBy` and `minGroupSize` are the page's first grouping, not applied to
 * the data itself (the page regroups it at will). Resolves once the page can be opened at `server.url`.
 *
 * @example
 * const { server } = await startExplore({ data: 'adult.csv', target: 'income', positive: '>50K', sensitive: ['sex'] });
 * console.log(server.url); // http://127.0.0.1:40123/?token=...
 */
export async function startExplore(options: ExploreOptions, hooks: PrepareHooks & { log?: (message: string) => void } = {}): Promise<Explore> {
  const { groupBy, minGroupSize, method, constraint, alpha, maxGap, seed, optimizer, maxIterations, out, host, port, sweep, token, ...data } = options;
  if (optimizer !== undefined && optimizer !== 'lbfgs') throw new InputError(`--optimizer ${optimizer}: explore fits with lbfgs (the paper's SGD recipe takes seconds per fit); leave --optimizer out`);
  if (maxIterations !== undefined) throw new InputError('--max-iterations: explore fits every head to its tolerance; leave --max-iterations out');
  const prepared = await prepareData(data, hooks);
  const head = { ...opt('method', method), ...opt('constraint', constraint), ...opt('alpha', alpha), ...opt('maxGap', maxGap), ...opt('seed', seed) };
  const session = new ExploreSession({
    prepared,
    task: { target: data.target, ...(data.positive !== undefined ? { positive: data.positive } : {}), sensitive: data.sensitive },
    record: optionsRecord(data),
    out: out ?? 'fairhead-explore',
    head,
    grouping: { ...opt('groupBy', groupBy), ...opt('minGroupSize', minGroupSize) },
    ...(sweep !== undefined ? { sweep } : {}),
  });
  const server = await startExploreServer(session, { ...opt('host', host), ...opt('port', port), ...opt('token', token), ...opt('log', hooks.log) });
  session.prefetch();
  return { session, server };
}

/**
 * What `fairhead explore --from DIR` takes from a folder written by `run`, `sweep` or `explore`'s save: the options
 * and backbone options of the command (metrics.json's `context.options`, without its head options) and the head to
 * open the page on: the one the options name (run, save), else the run a sweep chose (`selection`).
 *
 * @example
 * readRunFolder('out/'); // { options: { data: '/abs/adult.csv', ... }, head: { method: 'm2', constraint: 'eo', alpha: 1, seed: 0 } }
 */
export function readRunFolder(dir: string): { options: OptionsRecord; head: Partial<HeadOptions> } {
  const file = join(dir, 'metrics.json');
  const metrics = readMetricsFile(file);
  const options = metrics.context.options;
  if (options === undefined) {
    throw new InputError(`--from ${dir}: ${file} does not record the options of its command (written by an older fairhead); give the data flags (--data, --target, ...) instead`);
  }
  const { method: m, constraint: c, alpha: a, maxGap: g, seed: sd, optimizer: _o, maxIterations: _i, bootstrap: _b, ...dataOptions } = options;
  if (typeof m === 'string') {
    return {
      options: dataOptions,
      head: {
        method: m as HeadOptions['method'],
        ...(typeof c === 'string' ? { constraint: c as HeadOptions['constraint'] } : {}),
        ...(typeof a === 'number' ? { alpha: a } : {}),
        ...(typeof g === 'number' ? { maxGap: g } : {}),
        ...(typeof sd === 'number' ? { seed: sd } : {}),
      },
    };
  }
  // a sweep records the run its --select rule chose; else the report's operating point
  const chosen = metrics.runs[metrics.selection?.run ?? buildReport(metrics).selected.run] as RunRecord;
  const method = METHODS.find((m) => m === chosen.method);
  if (method === undefined) return { options: dataOptions, head: {} };
  return {
    options: dataOptions,
    head: {
      method,
      ...(chosen.constraint !== 'none' ? { constraint: chosen.constraint as HeadOptions['constraint'] } : {}),
      ...(chosen.maxGap !== undefined ? { maxGap: chosen.maxGap } : { alpha: chosen.alpha }),
      seed: chosen.seed,
    },
  };
}

/** `{ [key]: value }` when value is defined, else `{}` (for exactOptionalPropertyTypes). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
