// The group-balanced draw of src/pipeline/finetune-sets.ts: the same xoshiro128** stream, the same rejection
// sampling and the same partial Fisher-Yates as src/rng.ts's sampleFrom, cell after cell, so the same rows to the
// last one.

/**
 * balancedDraw(byCell, first, cells, m, state, table, out): for each cell c, m rows drawn without replacement from
 * byCell[first[c] .. first[c + 1] - 1] (int32 arrays), written to out (c m .. c m + m - 1, unsorted); state: the
 * generator's 4 words (read, and written back); table: int32 scratch of the largest cell's size. The partial
 * Fisher-Yates keeps its moved entries in `table` as index + 1 (0: not moved), where rng.ts keeps them in a Map:
 * the same swaps. m must not exceed any cell's size.
 */
export function balancedDraw(byCell: usize, first: usize, cells: u32, m: u32, state: usize, table: usize, out: usize): void {
  let a = load<u32>(state);
  let b = load<u32>(state, 4);
  let c = load<u32>(state, 8);
  let d = load<u32>(state, 12);
  let o: u32 = 0;
  for (let cell: u32 = 0; cell < cells; cell++) {
    const base = load<u32>(first + (<usize>cell << 2));
    const size = load<u32>(first + (<usize>cell << 2), 4) - base;
    for (let i: u32 = 0; i < size; i++) store<u32>(table + (<usize>i << 2), 0);
    for (let i: u32 = 0; i < m; i++) {
      // j = i + int(size - i): draw r until r < 2^32 - (2^32 mod n), then r mod n (rng.ts int)
      const n = size - i;
      const rem = (0 - n) % n;
      let r: u32;
      do {
        // the next xoshiro128** output (rng.ts nextUint32)
        r = rotl<u32>(b * 5, 7) * 9;
        const t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl<u32>(d, 11);
      } while (rem != 0 && r >= 0 - rem);
      const j = i + r % n;
      // out[o++] = byCell[base + moved(j)]; table[j] = moved(i) + 1, where moved(x) = table[x] ? table[x] - 1 : x
      const ej = load<u32>(table + (<usize>j << 2));
      store<u32>(out + (<usize>o << 2), load<u32>(byCell + (<usize>(base + (ej ? ej - 1 : j)) << 2)));
      o++;
      const ei = load<u32>(table + (<usize>i << 2));
      store<u32>(table + (<usize>j << 2), (ei ? ei - 1 : i) + 1);
    }
  }
  store<u32>(state, a);
  store<u32>(state, b, 4);
  store<u32>(state, c, 8);
  store<u32>(state, d, 12);
}
