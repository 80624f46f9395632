import { describe, expect, it } from 'vitest';
import { buildReport } from '../../src/report/build-report.ts';
import { escapeHtml, escapeMarkdown } from '../../src/report/format.ts';
import { renderHtml } from '../../src/report/render-html.ts';
import { renderMarkdown } from '../../src/report/render-markdown.ts';
import { niceTicks } from '../../src/report/svg-charts.ts';
import { group, metricsOf, run, split } from './tiny-metrics.ts';

const HOSTILE = '<script>alert(1)</script>';

/** Two runs whose groups and dataset carry hostile names. */
function hostileMetrics(): ReturnType<typeof metricsOf> {
  const byGroup = { [HOSTILE]: group({ tpr: 0.9 }), 'a|b': group({ tpr: 0.6 }) };
  const s = split(0.8, 0.3, { byGroup });
  return metricsOf(
    [
      run('b1', 'none', 0, 0, 0.8, 0.3, { splits: { train: s, finetune: s, test: s } }),
      run('m2', 'eo', 1, 0, 0.78, 0.1, { splits: { train: s, finetune: split(0.78, 0.1, { byGroup }), test: split(0.78, 0.1, { byGroup }) } }),
    ],
    `adult "${HOSTILE}"`,
  );
}

describe('escaping', () => {
  it('turns HTML specials into entities', () => {
    expect(escapeHtml(`${HOSTILE} & "q" 'a'`)).toBe('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;');
  });

  it('backslash-escapes Markdown and inline-HTML specials and flattens line breaks', () => {
    expect(escapeMarkdown('a|b <i>*x*</i>\nnext')).toBe('a\\|b \\<i\\>\\*x\\*\\</i\\> next');
  });
});

describe('niceTicks', () => {
  it('steps by 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceTicks(0.8, 0.86, 4)).toEqual([0.8, 0.82, 0.84, 0.86]);
    expect(niceTicks(0, 0.1, 4)).toEqual([0, 0.025, 0.05, 0.075, 0.1]);
  });
});

describe('renderMarkdown', () => {
  const md = renderMarkdown(buildReport(metricsOf([run('b1', 'none', 0, 0, 0.86, 0.2), run('m2', 'eo', 1, 0, 0.85, 0.05), run('m2', 'eo', 1, 1, 0.83, 0.07)])));

  it('has the pull-request table with the columns of the issue and mean ± std over seeds', () => {
    expect(md).toContain('| Method | Constraint | Alpha | Seeds | Test accuracy | Test EO diff | Test DP diff | Worst-group accuracy | Seconds |');
    // m2 eo α=1 over seeds 0 and 1: accuracy (0.85 + 0.83) / 2 = 0.84, std = 0.01 * sqrt(2) = 0.014
    expect(md).toContain('| **M2** | **eo** | **1** | **2** | **0.840 ± 0.014** | **0.060 ± 0.014** |');
    expect(md).toContain('| B1 | none | 0 | 1 | 0.860 | 0.200 | 0.200 |');
  });

  it('escapes user strings so a hostile group name shows as text and cannot break a table', () => {
    const text = renderMarkdown(buildReport(hostileMetrics()));
    expect(text).not.toContain(HOSTILE);
    expect(text).toContain('\\<script\\>alert(1)\\</script\\>');
    expect(text).toContain('| a\\|b |');
    expect(text.split('\n')[0]).toBe('# Fairness report — adult "\\<script\\>alert(1)\\</script\\>"');
  });
});

describe('renderHtml', () => {
  const html = renderHtml(buildReport(hostileMetrics()));

  it('is one self-contained page: no script, no external URL, a CSP that forbids fetching anything', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link|@import|url\(|src=/i);
    const urls = html.match(/https?:\/\/[^\s"'<>]+/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg'])); // the SVG namespace name, never fetched
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('escapes the dataset and group names everywhere they appear', () => {
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<title>Fairness report — adult &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</title>');
  });

  it('draws one dot per run and one bar per group, series and rate', () => {
    expect(html.match(/<circle class="point/g)).toHaveLength(2);
    const groupsChart = html.slice(html.indexOf('id="chart-groups"'), html.indexOf('</svg>', html.indexOf('id="chart-groups"')));
    expect(groupsChart.match(/<rect class="bar"/g)).toHaveLength(2 * 2 * 3);
  });

  it('is a pure function of the report', () => {
    const report = buildReport(hostileMetrics());
    expect(renderHtml(report)).toBe(renderHtml(report));
    expect(renderMarkdown(report)).toBe(renderMarkdown(report));
  });
});
