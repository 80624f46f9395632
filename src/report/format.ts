import type { MeanStd } from './aggregate-runs.ts';

/**
 * Escape text for HTML or SVG (element content and quoted attribute values): `& < > " '` become entities.
 *
 * @example
 * escapeHtml('<script>alert(1)</script>') // -> '&lt;script&gt;alert(1)&lt;/script&gt;'
 */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * Escape text for a Markdown table cell: every ASCII punctuation character Markdown or inline HTML could act on
 * gets a backslash (CommonMark renders `\<` as `<`), and line breaks become spaces.
 *
 * @example
 * escapeMarkdown('a|b <i>') // -> 'a\\|b \\<i\\>'
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]<>|~&]/g, (c) => `\\${c}`);
}

/** A rate or accuracy with 3 decimals; `NaN` shows as an em dash. @example formatRate(0.84567) // -> '0.846' */
export function formatRate(value: number): string {
  return Number.isFinite(value) ? value.toFixed(3) : '—';
}

/** Mean ± sample std with 3 decimals (just the mean for one seed). @example formatMeanStd({ mean: 0.82, std: 0.02, n: 3 }) // -> '0.820 ± 0.020' */
export function formatMeanStd(value: MeanStd, digits = 3): string {
  if (!Number.isFinite(value.mean)) return '—';
  const mean = value.mean.toFixed(digits);
  return value.std === null ? mean : `${mean} ± ${value.std.toFixed(digits)}`;
}

/** Seconds with 2 significant digits below 10 s, whole seconds above. @example formatSeconds(0.4213) // -> '0.42 s' */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  if (seconds >= 10) return `${Math.round(seconds).toLocaleString('en-US')} s`;
  return `${Number(seconds.toPrecision(2))} s`;
}

/** A count with thousands separators. @example formatCount(60929) // -> '60,929' */
export function formatCount(count: number): string {
  return Number.isFinite(count) ? Math.round(count).toLocaleString('en-US') : '—';
}

/** A share as a percentage with 2 significant digits. @example formatPercent(129 / 60929) // -> '0.21%' */
export function formatPercent(share: number): string {
  if (!Number.isFinite(share)) return '—';
  const pct = share * 100;
  return `${pct >= 10 ? pct.toFixed(0) : Number(pct.toPrecision(2))}%`;
}

/** A 95% interval `[lo, hi]` as "(0.830–0.850)". */
export function formatInterval(interval: readonly [number, number]): string {
  return `(${formatRate(interval[0])}–${formatRate(interval[1])})`;
}
