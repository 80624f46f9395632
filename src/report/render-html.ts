import type { BarChart, Report, ReportBlock, ReportTable, ScatterChart } from './build-report.ts';
import { escapeHtml } from './format.ts';
import { barColor, renderBarSvg, renderScatterSvg, seriesColor } from './svg-charts.ts';

/**
 * The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no font, no image, no
 * link to anything outside the file. A Content-Security-Policy meta tag forbids every fetch and script, so even a
 * hostile string could not run or call out. Every user string (dataset, column and group names, labels) is
 * escaped. Pure: the same report gives the same string.
 *
 * @example
 * writeFileAtomic('out/report.html', renderHtml(buildReport(metrics)));
 */
export function renderHtml(report: Report): string {
  const e = escapeHtml;
  const parts: string[] = [];
  parts.push(
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(report.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    '<header>',
    `<h1>${e(report.title)}</h1>`,
    `<p class="subtitle">${e(report.subtitle)}</p>`,
    '</header>',
    '<section class="summary" id="summary">',
    `<p class="chosen">Chosen operating point: <strong>${e(report.selected.label)}</strong> — ${e(report.selected.reason)}.` +
      (report.baseline === null ? '' : ` Compared with the baseline <strong>${e(report.baseline.label)}</strong>.`) +
      '</p>',
    '<div class="cards">',
  );
  for (const figure of report.keyFigures) {
    parts.push(
      `<div class="card"><div class="card-label">${e(figure.label)}</div><div class="card-value">${e(figure.value)}</div><div class="card-detail">${e(figure.detail)}</div></div>`,
    );
  }
  parts.push('</div>', '</section>');
  for (const section of report.sections) {
    parts.push(`<section id="${e(section.id)}">`, `<h2>${e(section.title)}</h2>`);
    for (const block of section.blocks) parts.push(renderBlock(block));
    parts.push('</section>');
  }
  parts.push(
    '<footer>Made by fairhead from <code>metrics.json</code> (beside this file, with every number). ',
    'Group gaps follow fairlearn: difference = largest minus smallest value over groups.</footer>',
    '</main>',
    '</body>',
    '</html>',
    '',
  );
  return parts.join('\n');
}

function renderBlock(block: ReportBlock): string {
  if (block.kind === 'scatter') return renderScatterFigure(block);
  if (block.kind === 'bars') return renderBarFigure(block);
  return renderTable(block);
}

function legendItem(color: string, label: string, shape: 'dot' | 'box' | 'ring' | 'square' | 'line'): string {
  const style = shape === 'dot' || shape === 'box' ? ` style="background:${color}"` : ` style="border-color:${color}"`;
  return `<span class="legend-item"><span class="swatch ${shape}"${style}></span>${escapeHtml(label)}</span>`;
}

function renderScatterFigure(chart: ScatterChart): string {
  const present = new Set(chart.points.map((p) => p.series));
  const items = chart.series.flatMap((s, i) => (present.has(s) ? [legendItem(seriesColor(i), s, 'dot')] : []));
  items.push(legendItem('#2d3748', 'Pareto front', 'line'));
  if (chart.selected !== null) items.push(legendItem('#c53030', 'Chosen operating point', 'ring'));
  if (chart.baseline !== null) items.push(legendItem('#4a5568', 'Baseline', 'square'));
  return figure(chart.id, chart.title, renderScatterSvg(chart), items, chart.explanation);
}

function renderBarFigure(chart: BarChart): string {
  const items = chart.series.length > 1 ? chart.series.map((s, i) => legendItem(barColor(i, chart.series.length), s, 'box')) : [];
  if (chart.panels.some((p) => (p.referenceCategories ?? []).length > 0)) items.push(legendItem('#cbd5e1', 'Reference', 'box'));
  return figure(chart.id, chart.title, renderBarSvg(chart), items, chart.explanation);
}

function figure(id: string, title: string, svg: string, legend: string[], explanation: string): string {
  return [
    `<figure class="chart-figure" id="figure-${escapeHtml(id)}">`,
    `<h3>${escapeHtml(title)}</h3>`,
    legend.length === 0 ? '' : `<div class="legend">${legend.join('')}</div>`,
    svg,
    `<figcaption>${escapeHtml(explanation)}</figcaption>`,
    '</figure>',
  ].join('\n');
}

function renderTable(table: ReportTable): string {
  const e = escapeHtml;
  const head = table.columns.map((c) => `<th class="${c.align}">${e(c.label)}</th>`).join('');
  const body = table.rows
    .map((row) => {
      // numbers stay on one line; a trailing "(interval)" goes on a second, smaller line
      const cells = row.cells
        .map((cell, i) => {
          const align = table.columns[i]?.align ?? 'left';
          const text = align === 'right' ? e(cell).replace(/ (\([^()]*\))$/, '<br><span class="ci">$1</span>') : e(cell);
          return `<td class="${align}">${text}</td>`;
        })
        .join('');
      return `<tr${row.highlight === true ? ' class="highlight"' : ''}>${cells}</tr>`;
    })
    .join('\n');
  const html = [
    `<div class="table-wrap" id="table-${e(table.id)}">`,
    `<table><caption>${e(table.caption)}</caption>`,
    `<thead><tr>${head}</tr></thead>`,
    `<tbody>${body}</tbody></table>`,
    table.note === undefined ? '' : `<p class="note">${e(table.note)}</p>`,
    '</div>',
  ].join('\n');
  return table.collapsed === true ? `<details><summary>${e(table.caption)} — ${table.rows.length} rows</summary>\n${html}\n</details>` : html;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f6fa;color:#1a202c;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:980px;margin:0 auto;padding:28px 28px 40px}
header h1{margin:0 0 4px;font-size:26px;letter-spacing:-.01em}
.subtitle{margin:0 0 18px;color:#4a5568;font-size:13.5px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:20px 24px;margin:0 0 20px;box-shadow:0 1px 2px rgba(16,24,40,.04)}
h2{margin:0 0 12px;font-size:19px}
h3{margin:4px 0 6px;font-size:15px;color:#2d3748}
.chosen{margin:0 0 14px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.card{border:1px solid #e2e8f0;border-radius:8px;padding:12px 14px;background:#f8fafc}
.card-label{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:#4a5568}
.card-value{font-size:22px;font-weight:650;margin:2px 0 4px;font-variant-numeric:tabular-nums}
.card-detail{font-size:12.5px;color:#4a5568}
figure{margin:8px 0 18px}
svg.chart{display:block;width:100%;height:auto;max-width:880px}
figcaption{font-size:13.5px;color:#2d3748;background:#f8fafc;border-left:3px solid #2563eb;padding:8px 12px;margin-top:6px}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;font-size:12.5px;color:#2d3748;margin:2px 0 6px}
.legend-item{display:inline-flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:12px;height:12px}
.swatch.dot{border-radius:50%}
.swatch.box{border-radius:2px}
.swatch.ring{border-radius:50%;border:2.4px solid;width:14px;height:14px}
.swatch.square{border:1.8px solid;width:13px;height:13px}
.swatch.line{width:22px;height:0;border-top:2px dashed}
.table-wrap{overflow-x:auto;margin:12px 0}
table{border-collapse:collapse;width:100%;font-size:12.5px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:0 0 6px;color:#2d3748}
th,td{padding:6px 9px;border-bottom:1px solid #e2e8f0}
th{vertical-align:bottom}
th{background:#f1f5f9;font-weight:600;color:#2d3748}
td.right,th.right{text-align:right}
td.right{white-space:nowrap}
.ci{font-size:11px;color:#718096;font-weight:400}
td.left,th.left{text-align:left}
tr.highlight td{background:#fef3c7;font-weight:600}
.note{font-size:12.5px;color:#4a5568;margin:6px 0 0}
details summary{cursor:pointer;font-weight:600;color:#2d3748}
footer{font-size:12.5px;color:#718096;text-align:center;margin-top:8px}
code{font-size:12.5px;background:#edf2f7;padding:1px 4px;border-radius:4px}
@media print{body{background:#fff}section{box-shadow:none;break-inside:avoid}}
`.trim();
