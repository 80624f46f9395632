// A counting sort of rows by (label, group) cell, for the group-balanced samples of src/train/cell-order.ts, and
// each row's cell for a fit. Arrays are int32 at byte addresses; a row's cell is y_i groups + group_i.

/** cellCounts(y, group, n, groups, cells, size): size[cell_i] += 1 for every row i whose cell is in 0..cells-1. */
export function cellCounts(y: usize, group: usize, n: u32, groups: i32, cells: u32, size: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const cell = <u32>(load<i32>(y + (<usize>i << 2)) * groups + load<i32>(group + (<usize>i << 2)));
    if (cell < cells) {
      const at = size + (<usize>cell << 2);
      store<i32>(at, load<i32>(at) + 1);
    }
  }
}

/** cellPlace(y, group, n, groups, cells, next, out): out[next[c]++] = i for every row i, c its cell (rows outside 0..cells-1 skipped). */
export function cellPlace(y: usize, group: usize, n: u32, groups: i32, cells: u32, next: usize, out: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const cell = <u32>(load<i32>(y + (<usize>i << 2)) * groups + load<i32>(group + (<usize>i << 2)));
    if (cell < cells) {
      const at = next + (<usize>cell << 2);
      const slot = load<u32>(at);
      store<u32>(at, slot + 1);
      store<u32>(out + (<usize>slot << 2), i);
    }
  }
}

/**
 * rowCells(y, group, n, classes, groups, codes, size): codes[i] = c = y_i groups + group_i and size[c] += 1 for
 * every row i; or the first row whose label is not in 0..classes-1 or whose group is not in 0..groups-1 (negative
 * ones too: the comparisons are unsigned), its index; -1 when every row is in range.
 */
export function rowCells(y: usize, group: usize, n: u32, classes: u32, groups: u32, codes: usize, size: usize): i32 {
  for (let i: u32 = 0; i < n; i++) {
    const label = load<u32>(y + (<usize>i << 2));
    if (label >= classes) return i;
    const g = load<u32>(group + (<usize>i << 2));
    if (g >= groups) return i;
    const c = label * groups + g;
    store<u32>(codes + (<usize>i << 2), c);
    const at = size + (<usize>c << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
  return -1;
}

/**
 * binaryTable(z, codes, n, table): table[2 codes[i] + (z_i >= 0)] += 1 for every row i (float64 logits z): the
 * rows of a binary head counted by (label, group, predicted class); a NaN logit predicts 0, as z >= 0 does in
 * JavaScript.
 */
export function binaryTable(z: usize, codes: usize, n: u32, table: usize): void {
  for (let i: u32 = 0; i < n; i++) {
    const slot = load<u32>(codes + (<usize>i << 2)) * 2 + (load<f64>(z + (<usize>i << 3)) >= 0 ? 1 : 0);
    const at = table + (<usize>slot << 2);
    store<i32>(at, load<i32>(at) + 1);
  }
}
