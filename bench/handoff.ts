/**
 * What a second onnxruntime thread costs an op that runs on one thread, now: ten rounds of Add (which onnxruntime
 * splits over its threads) followed by BatchNormalization in training mode (which it runs on one), on a
 * [64, 16, 32, 32] map, with 1 and with 2 intra-op threads; and the BatchNormalizations alone. With 2 threads the
 * Add's output is half written by the other core, and the BatchNormalization reads all of it on the calling thread.
 *
 * On this 2-vCPU VM the ratio (2 threads over 1) is bimodal over minutes: below 1 when its cores share data cheaply,
 * 1.5-1.8 in phases when they do not, and then the cnn's 2-thread step is no faster than its 1-thread one while
 * PyTorch's is unaffected (docs/performance.md, "Fourth round"). Used by `npm run bench -- cnn-profile` and, around
 * every seed, by `npm run bench -- cnn`.
 */
import * as ort from 'onnxruntime-node';
import { OnnxBuilder } from '../src/backbone/cnn/onnx-builder.ts';

export interface Handoff {
  /** Median ms of the Add -> BatchNormalization chain on 1 and on 2 threads, and their ratio (2 over 1). */
  readonly oneThreadMs: number;
  readonly twoThreadsMs: number;
  readonly ratio: number;
  /** The same for the BatchNormalizations alone (no handoff: about equal). */
  readonly aloneOneThreadMs: number;
  readonly aloneTwoThreadsMs: number;
}

const dims = [64, 16, 32, 32];

function graph(withAdd: boolean): Uint8Array {
  const g = new OnnxBuilder('handoff', 15);
  g.input('x', dims);
  const c = dims[1] as number;
  const constant = (v: number): string => g.floats([c], new Array<number>(c).fill(v));
  let t = 'x';
  for (let i = 0; i < 10; i++) {
    if (withAdd) t = g.node('Add', [t, g.scalar(0.001)]);
    t = g.node('BatchNormalization', [t, constant(1), constant(0), constant(0), constant(1)], {
      epsilon: { float: 1e-5 }, momentum: { float: 0 }, training_mode: 1,
    }, [g.fresh('y'), g.fresh('mean'), g.fresh('var')]);
  }
  g.node('Identity', [t], {}, ['y']);
  g.output('y');
  return g.toBytes();
}

/** Median ms of one run on 1 and on 2 threads: 15 runs each, in 3 alternating blocks of 5. */
async function timeBoth(bytes: Uint8Array, x: ort.Tensor): Promise<[number, number]> {
  const sessions = await Promise.all([1, 2].map((threads) => ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3,
  })));
  const times: number[][] = [[], []];
  for (let block = 0; block < 3; block++) {
    for (const [k, session] of sessions.entries()) {
      for (let r = 0; r < 5; r++) {
        const t = performance.now();
        await session.run({ x });
        (times[k] as number[]).push(performance.now() - t);
      }
    }
  }
  await Promise.all(sessions.map((s) => s.release()));
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] as number;
  return [median(times[0] as number[]), median(times[1] as number[])];
}

export async function handoffProbe(): Promise<Handoff> {
  const x = new ort.Tensor('float32', Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), dims);
  const [one, two] = await timeBoth(graph(true), x);
  const [aloneOne, aloneTwo] = await timeBoth(graph(false), x);
  const round = (v: number): number => Math.round(v * 100) / 100;
  return { oneThreadMs: round(one), twoThreadsMs: round(two), ratio: round(two / one), aloneOneThreadMs: round(aloneOne), aloneTwoThreadsMs: round(aloneTwo) };
}
