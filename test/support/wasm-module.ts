/** Static inspection of compiled WebAssembly modules, for the kernel modules' tests. */

/** The module's sections in order: [id, start, end] of each one's content. */
export function sections(module: Uint8Array): [number, number, number][] {
  const out: [number, number, number][] = [];
  let at = 8;
  const uleb = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = module[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < module.length) {
    const id = module[at++]!;
    const size = uleb();
    out.push([id, at, at + size]);
    at += size;
  }
  return out;
}

/** The WebAssembly API's static inspection of a compiled module (imports and exports). */
export const inspect = (globalThis as unknown as {
  WebAssembly: { Module: { imports(m: unknown): { module: string; name: string; kind: string }[]; exports(m: unknown): { name: string; kind: string }[] } };
}).WebAssembly.Module;
