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
 * passes over the rows, in WebAssembly where it runs (the plain loops ran unoptimised in the first group-balanced
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
  const module = wasmKernelModule();
  if (!module) {
    for (let i = 0; i < n; i++) {
      const c = (y[i] as number) * groups + (group[i] as number);
      if (!(c >= 0 && c < cells)) throw outside(y, group, groups, cells);
      size[c]! += 1;
    }
    for (let c = 0; c < cells; c++) first[c + 1] = (first[c] as number) + (size[c] as number);
    const next = first.slice(0, cells);
    for (let i = 0; i < n; i++) byCell[next[(y[i] as number) * groups + (group[i] as number)]!++] = i;
    return { size, first, byCell };
  }
  // y, group, out (n each), then the table (cells): int32
  const bytes = 4 * (3 * n + cells);
  const pages = Math.max(1, Math.ceil(bytes / PAGE));
  if (!scratch) {
    const memory = sharedWasmMemory(pages);
    scratch = { memory, kernels: instantiateKernels(module, memory) };
  } else if (scratch.memory.buffer.byteLength < bytes) {
    scratch.memory.grow(pages - scratch.memory.buffer.byteLength / PAGE);
  }
  const { memory, kernels } = scratch;
  const heap = new Int32Array(memory.buffer as unknown as SharedArrayBuffer);
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

/** The error for the first row whose cell is not in 0..cells-1. */
function outside(y: Int32Array, group: Int32Array, groups: number, cells: number): RangeError {
  let i = 0;
  for (; i < y.length; i++) {
    const c = (y[i] as number) * groups + (group[i] as number);
    if (!(c >= 0 && c < cells)) break;
  }
  return new RangeError(`row ${i}: label ${y[i]} and group ${group[i]} make cell ${(y[i] as number) * groups + (group[i] as number)}, outside 0..${cells - 1}`);
}
