import { xoshiro128State } from '../rng.ts';
import { instantiateKernels, sharedWasmMemory, wasmKernelModule, type WasmKernels, type WasmMemory } from './_internal/wasm-kernels.ts';

const PAGE = 65536;

/** Rows grouped by (label, group) cell: see {@link cellOrder}. */
export interface CellOrder {
  /** Rows per cell c = label * groups + group. */
  readonly size: Int32Array;
  /** Cell c's rows, ascending, are byCell[first[c] .. first[c + 1] - 1]. */
  readonly first: Int32Array;
  readonly byCell: Int32Array;
}

/** This thread's WebAssembly scratch for cellOrder, kept and grown across calls. */
let scratch: { memory: WasmMemory; kernels: WasmKernels } | null = null;

/**
 * The rows of each (label, group) cell, ascending (a counting sort), for `cells` cells (labels x groups). Two
 * passes over the rows, in WebAssembly (the plain loops ran unoptimised in the first group-balanced
 * draws of a process: ~10 ms over 180,000 rows). A row whose cell `y[i] * groups + group[i]` is not in 0..cells-1
 * throws a RangeError naming it.
 *
 * @example
 * cellOrder(Int32Array.of(1, 0, 1), Int32Array.of(0, 0, 1), 2, 4); // size [1, 0, 1, 1], byCell [1, 0, 2]
 */
export function cellOrder(y: Int32Array, group: Int32Array, groups: number, cells: number): CellOrder {
  const n = y.length;
  const size = new Int32Array(cells);
  const first = new Int32Array(cells + 1);
  const byCell = new Int32Array(n);
  // y, group, out (n each), then the table (cells): int32
  const { kernels, heap } = scratchOf(4 * (3 * n + cells));
  const [yAt, groupAt, outAt, tableAt] = [0, 4 * n, 8 * n, 12 * n];
  heap.set(y, yAt / 4);
  heap.set(group, groupAt / 4);
  heap.fill(0, tableAt / 4, tableAt / 4 + cells);
  kernels.cellCounts(yAt, groupAt, n, groups, cells, tableAt);
  size.set(heap.subarray(tableAt / 4, tableAt / 4 + cells));
  for (let c = 0; c < cells; c++) first[c + 1] = (first[c] as number) + (size[c] as number);
  // rows outside the cells were skipped: their count is missing
  if (first[cells] !== n) throw outside(y, group, groups, cells);
  heap.set(first.subarray(0, cells), tableAt / 4);
  kernels.cellPlace(yAt, groupAt, n, groups, cells, tableAt, outAt);
  byCell.set(heap.subarray(outAt / 4, outAt / 4 + n));
  return { size, first, byCell };
}

/** Each row's (label, group) cell and the rows of each cell: see {@link rowCells}. */
export interface RowCells {
  /** codes[i] = y[i] * groups + group[i]. */
  readonly codes: Int32Array;
  /** Rows per cell, counts[label * groups + group]. */
  readonly counts: Int32Array;
}

/**
 * Each row's cell `y[i] * groups + group[i]` and the rows of every cell, after checking that every label is in
 * 0..classes-1 and every group in 0..groups-1; or, when one is not, the first such row (`{ outside: i }`). One
 * pass, in WebAssembly: a fit needs the checks, the counts and the codes of its set once, and as
 * plain loops they ran in V8's interpreter in a process's first fits (about 1 ms each over 6,100 rows).
 *
 * @example
 * rowCells(Int32Array.of(1, 0), Int32Array.of(0, 1), 2, 2); // { codes: [2, 1], counts: [0, 1, 1, 0] }
 * rowCells(Int32Array.of(1, 2), Int32Array.of(0, 1), 2, 2); // { outside: 1 }
 */
export function rowCells(y: Int32Array, group: Int32Array, classes: number, groups: number): RowCells | { readonly outside: number } {
  const n = y.length;
  if (group.length !== n) throw new RangeError(`rowCells: ${n} labels but ${group.length} groups`);
  const cells = classes * groups;
  const codes = new Int32Array(n);
  const counts = new Int32Array(cells);
  // y, group, codes (n each), then the counts (cells): int32
  const { kernels, heap } = scratchOf(4 * (3 * n + cells));
  const [yAt, groupAt, codesAt, countsAt] = [0, 4 * n, 8 * n, 12 * n];
  heap.set(y, yAt / 4);
  heap.set(group, groupAt / 4);
  heap.fill(0, countsAt / 4, countsAt / 4 + cells);
  const outside = kernels.rowCells(yAt, groupAt, n, classes, groups, codesAt, countsAt);
  if (outside >= 0) return { outside };
  codes.set(heap.subarray(codesAt / 4, codesAt / 4 + n));
  counts.set(heap.subarray(countsAt / 4, countsAt / 4 + cells));
  return { codes, counts };
}

/**
 * A binary head's rows counted by (label, group, predicted class): table[2 codes[i] + (z[i] >= 0 ? 1 : 0)], from
 * its logits `z` and the rows' cells `codes` (in 0..cells-1, as {@link rowCells} gives them), in WebAssembly (the
 * layout of the penalties' predictionTable with 2 classes, for their hardGapOfTable).
 *
 * @example
 * binaryPredictionTable(Float64Array.of(0.3, -1, 2), Int32Array.of(0, 0, 3), 4); // [1, 1, 0, 0, 0, 0, 0, 1]
 */
export function binaryPredictionTable(z: Float64Array, codes: Int32Array, cells: number): Int32Array {
  const n = z.length;
  if (codes.length !== n) throw new RangeError(`binaryPredictionTable: ${n} logits but ${codes.length} codes`);
  const table = new Int32Array(2 * cells);
  // z (float64, n), codes (n), then the table (2 cells): int32 after the logits
  const { kernels, heap } = scratchOf(12 * n + 8 * cells);
  new Float64Array(heap.buffer, 0, n).set(z);
  heap.set(codes, (8 * n) / 4);
  heap.fill(0, (12 * n) / 4, (12 * n) / 4 + 2 * cells);
  kernels.binaryTable(0, 8 * n, n, 12 * n);
  table.set(heap.subarray((12 * n) / 4, (12 * n) / 4 + 2 * cells));
  // a code outside 0..cells-1 was counted elsewhere (or nowhere): the table then misses its row
  let rows = 0;
  for (let c = 0; c < table.length; c++) rows += table[c] as number;
  if (rows !== n) throw new RangeError(`binaryPredictionTable: row codes outside 0..${cells - 1}`);
  return table;
}

/**
 * `m` rows of every cell of `order`, drawn without replacement with {@link createRng}(seed) as rng.ts's sampleFrom
 * draws them cell after cell (the same rows), ascending, in WebAssembly (assembly/sample.ts). Every cell must hold
 * at least m rows.
 *
 * @example
 * drawFromCells(cellOrder(y, group, 2, 4), 100, 0).length; // 400
 */
export function drawFromCells(order: CellOrder, m: number, seed: number): Int32Array {
  const { size, first, byCell } = order;
  const cells = size.length;
  let largest = 0;
  for (let c = 0; c < cells; c++) {
    if ((size[c] as number) < m) throw new RangeError(`drawFromCells: cell ${c} has ${size[c]} rows, fewer than ${m}`);
    largest = Math.max(largest, size[c] as number);
  }
  const n = byCell.length;
  // int32: byCell (n), first (cells + 1), the generator's state (4), the table (largest cell), the rows drawn
  const [byCellAt, firstAt] = [0, 4 * n];
  const stateAt = firstAt + 4 * (cells + 1);
  const tableAt = stateAt + 16;
  const outAt = tableAt + 4 * largest;
  const { kernels, heap } = scratchOf(outAt + 4 * cells * m);
  heap.set(byCell, byCellAt / 4);
  heap.set(first.subarray(0, cells + 1), firstAt / 4);
  heap.set(xoshiro128State(seed), stateAt / 4);
  kernels.balancedDraw(byCellAt, firstAt, cells, m, stateAt, tableAt, outAt);
  return heap.slice(outAt / 4, outAt / 4 + cells * m).sort();
}

/** This thread's scratch memory, grown to at least `bytes`, as int32. */
function scratchOf(bytes: number): { kernels: WasmKernels; heap: Int32Array } {
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (!scratch) {
    const memory = sharedWasmMemory(pages);
    scratch = { memory, kernels: instantiateKernels(wasmKernelModule(), memory) };
  } else if (scratch.memory.buffer.byteLength < bytes) {
    scratch.memory.grow(pages - scratch.memory.buffer.byteLength / PAGE);
  }
  return { kernels: scratch.kernels, heap: new Int32Array(scratch.memory.buffer as unknown as SharedArrayBuffer) };
}

/** The error for the first row whose cell is not in 0..cells-1. */
function outside(y: Int32Array, group: Int32Array, groups: number, cells: number): RangeError {
  let i = 0;
  for (; i < y.length; i++) {
    const c = (y[i] as number) * groups + (group[i] as number);
    if (!(c >= 0 && c < cells)) break;
  }
  return new RangeError(`row ${i}: label ${y[i]} and group ${group[i]} make cell ${(y[i] as number) * groups + (group[i] as number)}, outside 0..${cells - 1}`);
}
