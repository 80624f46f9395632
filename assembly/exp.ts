// exp(x) for every float64 x, bit for bit as V8's Math.exp (ieee754::exp: fdlibm's e_exp.c, with V8's special case
// exp(1) = E). Called by the per-row terms (row-terms.ts) with x <= 0.

const LN2_HI: f64 = 6.93147180369123816490e-01;
const LN2_LO: f64 = 1.90821492927058770002e-10;
const INV_LN2: f64 = 1.44269504088896338700e+00;
const P1: f64 = 1.66666666666666019037e-01;
const P2: f64 = -2.77777777770155933842e-03;
const P3: f64 = 6.61375632143793436117e-05;
const P4: f64 = -1.65339022054652515390e-06;
const P5: f64 = 4.13813679705723846039e-08;
const O_THRESHOLD: f64 = 7.09782712893383973096e+02;
const U_THRESHOLD: f64 = -7.45133219101941108420e+02;
const TWO_M1000: f64 = 9.33263618503218878990e-302;
/** The float64 nearest to e (Math.E). */
const E: f64 = 2.718281828459045;

/** 2^k as a float64, for k + 1023 in 1..2046: the exponent bits alone. */
// @ts-ignore: decorator
@inline function twoTo(k: i32): f64 {
  return reinterpret<f64>(<u64>(k + 1023) << 52);
}

/** exp(x): fdlibm's e_exp.c line for line, as V8 has it (ieee754::exp). */
export function exp(x: f64): f64 {
  let hx = <u32>(reinterpret<u64>(x) >>> 32);
  const xsb = hx >>> 31; // sign of x
  hx &= 0x7fffffff; // high word of |x|
  // |x| >= 709.78: NaN, +-inf, overflow, underflow
  if (hx >= 0x40862e42) {
    if (hx >= 0x7ff00000) {
      if (x != x) return x + x; // NaN
      return xsb ? 0 : x; // exp(+-inf) = inf, 0
    }
    if (x > O_THRESHOLD) return Infinity;
    if (x < U_THRESHOLD) return 0;
  }
  // argument reduction: x = k ln2 + r, |r| <= 0.5 ln2, r = hi - lo
  let hi: f64 = 0;
  let lo: f64 = 0;
  let k: i32 = 0;
  if (hx > 0x3fd62e42) {
    // |x| > 0.5 ln2
    if (hx < 0x3ff0a2b2) {
      // and |x| < 1.5 ln2. V8's special case: the algorithm gets the last bit of exp(1) wrong
      if (x == 1) return E;
      hi = x - (xsb ? -LN2_HI : LN2_HI);
      lo = xsb ? -LN2_LO : LN2_LO;
      k = 1 - xsb - xsb;
    } else {
      k = <i32>(INV_LN2 * x + (xsb ? -0.5 : 0.5));
      hi = x - <f64>k * LN2_HI; // exact: k ln2_hi has few bits
      lo = <f64>k * LN2_LO;
    }
    x = hi - lo;
  } else if (hx < 0x3e300000) {
    // |x| < 2^-28
    return 1 + x;
  }
  // x is now in the primary range
  const t = x * x;
  const c = x - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
  if (k == 0) return 1 - ((x * c) / (c - 2) - x);
  const y = 1 - ((lo - (x * c) / (2 - c)) - hi);
  if (k >= -1021) {
    if (k == 1024) return y * 2 * twoTo(1023);
    return y * twoTo(k);
  }
  return y * twoTo(k + 1000) * TWO_M1000;
}
