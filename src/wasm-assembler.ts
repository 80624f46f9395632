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

// Scalar float64 / int64 instructions (the exact exp and the per-row terms of the binary head's one-pass objective).
export const F64 = 0x7c;
export const I64 = 0x7e;
/** f64.const: the value's 8 bytes, little-endian. */
export const f64 = (v: number): number[] => [0x44, ...new Uint8Array(new Float64Array([v]).buffer)];
export const i64 = (v: number): number[] => [0x42, ...sleb(v)];
export const tee = (i: number): number[] => [0x22, ...uleb(i)];
export const call = (f: number): number[] => [0x10, ...uleb(f)];
export const ret = [0x0f];
export const select = [0x1b];
/** if (no result), else. */
export const ifThen = [0x04, 0x40];
export const orElse = [0x05];
export const i32Load = (offset = 0): number[] => [0x28, 2, ...uleb(offset)];
export const i32Store = (offset = 0): number[] => [0x36, 2, ...uleb(offset)];
export const f64Load = (offset = 0): number[] => [0x2b, 3, ...uleb(offset)];
export const f64Store = (offset = 0): number[] => [0x39, 3, ...uleb(offset)];
export const sub = [0x6b];
export const and = [0x71];
export const or = [0x72];
export const xor = [0x73];
export const shl = [0x74];
export const rotl = [0x77];
export const remU = [0x70];
export const eqz = [0x45];
export const shrU = [0x76];
export const eq = [0x46];
export const ltS = [0x48];
export const geS = [0x4e];
export const ltU = [0x49];
export const gtU = [0x4b];
export const f64Add = [0xa0];
export const f64Sub = [0xa1];
export const f64Mul = [0xa2];
export const f64Div = [0xa3];
export const f64Neg = [0x9a];
export const f64Ne = [0x62];
export const f64Lt = [0x63];
export const f64Gt = [0x64];
export const f64Ge = [0x66];
export const f64PromoteF32 = [0xbb];
export const f32DemoteF64 = [0xb6];
export const f64ConvertI32 = [0xb7];
export const i32TruncF64 = [0xaa];
export const i64ReinterpretF64 = [0xbd];
export const f64ReinterpretI64 = [0xbf];
export const i64ExtendI32 = [0xac];
export const i64Shl = [0x86];
export const i64ShrU = [0x88];
export const i32WrapI64 = [0xa7];
