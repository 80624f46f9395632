/**
 * The few WebAssembly encodings this project's hand-assembled modules need (the linear-head kernels,
 * src/train/_internal/wasm-kernels.ts, and the convolution GEMM measured against onnxruntime,
 * src/backbone/cnn/wasm-conv.ts): LEB128 numbers, the instructions as byte arrays, and module sections.
 * Building the bytes here means no build step and no binary file. Internal.
 *
 * @example
 * // local.get 0, i32.const 4, i32.mul
 * [...get(0), ...i32(4), ...mul]; // [0x20, 0, 0x41, 4, 0x6c]
 */

/** Value types. */
export const I32 = 0x7f;
export const V128 = 0x7b;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let v = value >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

/** Signed LEB128. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let v = value | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

export const get = (i: number): number[] => [0x20, ...uleb(i)];
export const set = (i: number): number[] => [0x21, ...uleb(i)];
export const i32 = (v: number): number[] => [0x41, ...sleb(v)];
export const add = [0x6a];
export const mul = [0x6c];
export const geU = [0x4f];
/** A SIMD instruction: 0xfd, the opcode, then its immediates (memory: align, offset). */
export const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...uleb(op), ...imm];
export const v128Zero = simd(0x0c, ...new Array<number>(16).fill(0));
export const f32x4Splat = simd(0x13);
export const f32x4Add = simd(0xe4);
export const f32x4Mul = simd(0xe6);
export const f32x4Lane = (lane: number): number[] => simd(0x1f, lane);
export const f32Load = [0x2a, 2, 0];
export const f32Store = [0x38, 2, 0];
export const f32Add = [0x92];
export const block = [0x02, 0x40];
export const loop = [0x03, 0x40];
export const end = [0x0b];
export const br = (depth: number): number[] => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): number[] => [0x0d, ...uleb(depth)];

/** A module section: id, byte length, content. */
export function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

/** A vector: its length, then the items. */
export function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A name (UTF-8, length first). */
export function name(s: string): number[] {
  const bytes = Array.from(new TextEncoder().encode(s));
  return [...uleb(bytes.length), ...bytes];
}
