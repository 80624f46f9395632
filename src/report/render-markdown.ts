import type { Report, ReportTable } from './build-report.ts';
import { escapeMarkdown } from './format.ts';

/**
 * The report as Markdown for a pull request: the chosen operating point, the key figures, then every table
 * of the report (charts are in report.html). Every cell is escaped ({@link escapeMarkdown}), so a group named
 * `<script>` or `a|b` shows as written and cannot break the table. Pure.
 *
 * @example
 * renderMarkdown(buildReport(metrics)).split('\n')[0] // -> '# Fairness report — adult'
 */
export function renderMarkdown(report: Report): string {
  const m = escapeMarkdown;
  const lines: string[] = [`# ${m(report.title)}`, '', `_${m(report.subtitle)}_`, ''];
  lines.push(`**Chosen operating point:** ${m(report.selected.label)} — ${m(report.selected.reason)}.`);
  if (report.baseline !== null) lines.push(`**Baseline:** ${m(report.baseline.label)}.`);
  lines.push('');
  lines.push('| Key figure | Value | |', '|---|---:|---|');
  for (const f of report.keyFigures) lines.push(`| ${m(f.label)} | ${m(f.value)} | ${m(f.detail)} |`);
  lines.push('');
  for (const section of report.sections) {
    const tables = section.blocks.filter((b): b is ReportTable => b.kind === 'table');
    if (tables.length === 0) continue;
    lines.push(`## ${m(section.title)}`, '');
    for (const table of tables) {
      // GitHub folds <details>; other viewers show the table as usual
      if (table.collapsed === true) lines.push('<details><summary>Show the table</summary>', '');
      lines.push(...markdownTable(table), '');
      if (table.collapsed === true) lines.push('</details>', '');
    }
  }
  lines.push('Charts: see `report.html`; every number: `metrics.json`.', '');
  return lines.join('\n');
}

function markdownTable(table: ReportTable): string[] {
  const m = escapeMarkdown;
  const out = [`**${m(table.caption)}**`, ''];
  out.push(`| ${table.columns.map((c) => m(c.label)).join(' | ')} |`);
  out.push(`|${table.columns.map((c) => (c.align === 'right' ? '---:' : '---')).join('|')}|`);
  for (const row of table.rows) {
    const cells = row.cells.map((cell) => (row.highlight === true ? `**${m(cell)}**` : m(cell)));
    out.push(`| ${cells.join(' | ')} |`);
  }
  if (table.note !== undefined) out.push('', m(table.note));
  return out;
}
