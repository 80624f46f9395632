/**
 * The explore page's HTML: the controls and the empty sections the script (assets/explore-page.mjs) fills with the
 * fragments of views.ts. Rendered on the server: every name from the data (dataset, columns, groups, classes) is
 * escaped here, and the script reads the session's choices from data attributes (no inline script, so the
 * Content-Security-Policy can forbid every script but the page's own file).
 */
import { escapeHtml } from '../report/format.ts';
import { CONSTRAINTS, METHODS } from '../pipeline/run-options.ts';
import { ALPHA_STEPS, CONSTRAINT_GAP, FAIRNESS_METRICS, GAP_METRICS, GAP_STEPS, METRIC_LABELS, nearestIndex, PERFORMANCE_METRICS, type ExploreState } from './state.ts';

/** What the page shows about the session. */
export interface PageInfo {
  readonly dataset: string;
  readonly backbone: string;
  readonly target: string;
  readonly positive?: string;
  readonly classes: readonly string[];
  readonly sensitive: readonly string[];
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  readonly hasShipped: boolean;
  readonly initial: ExploreState;
  readonly out: string;
}

const METHOD_TEXT: Readonly<Record<(typeof METHODS)[number], string>> = {
  b1: 'B1 — training set, no penalty',
  b2: 'B2 — validation set, no penalty',
  b3: 'B3 — balanced sample, no penalty',
  m1: 'M1 — validation set + penalty',
  m2: 'M2 — balanced sample + penalty',
  m2w: 'M2w — all rows, groups balanced by weights + penalty',
};

const CONSTRAINT_TEXT: Readonly<Record<(typeof CONSTRAINTS)[number], string>> = {
  eo: 'eo — equalized odds (TPR and FPR)',
  dp: 'dp — demographic parity (selection rate)',
  eopp: 'eopp — equal opportunity (TPR)',
  di: 'di — disparate impact (selection-rate ratio)',
  ae: 'ae — accuracy equality',
  mmf: 'mmf — max-min fairness (worst group)',
};

/**
 * The page for a session; `token` goes into the URLs of its script and stylesheet (every request carries it).
 *
 * @example
 * renderPage(info, token); // '<!doctype html>...'
 */
export function renderPage(info: PageInfo, token: string): string {
  const e = escapeHtml;
  const t = encodeURIComponent(token);
  const option = (value: string, text: string, selected: boolean, disabled = false): string =>
    `<option value="${e(value)}"${selected ? ' selected' : ''}${disabled ? ' disabled' : ''}>${e(text)}</option>`;
  const check = (name: string, value: string, text: string, checked: boolean): string =>
    `<label class="check"><input type="checkbox" name="${e(name)}" value="${e(value)}"${checked ? ' checked' : ''}> <span>${e(text)}</span></label>`;
  const s = info.initial;
  const alphaPosition = nearestIndex(ALPHA_STEPS, s.alpha);
  const gapPosition = nearestIndex(GAP_STEPS, s.maxGap);
  const subtitle = [
    `backbone ${info.backbone}`,
    `target ${info.target}${info.positive !== undefined ? ` (positive: ${info.positive})` : ''}`,
    `sensitive ${info.sensitive.join(', ')}`,
    `${info.rows.train.toLocaleString('en-US')} train / ${info.rows.validation.toLocaleString('en-US')} validation / ${info.rows.test.toLocaleString('en-US')} test rows`,
  ].join(' · ');
  const data = {
    initial: JSON.stringify(s),
    alphas: JSON.stringify(ALPHA_STEPS),
    gaps: JSON.stringify(GAP_STEPS),
    constraintGaps: JSON.stringify(CONSTRAINT_GAP),
  };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>fairhead explore — ${e(info.dataset)}</title>
<link rel="stylesheet" href="/explore.css?token=${t}">
<script type="module" src="/explore.js?token=${t}"></script>
</head>
<body data-initial="${e(data.initial)}" data-alphas="${e(data.alphas)}" data-gaps="${e(data.gaps)}" data-constraint-gaps="${e(data.constraintGaps)}">
<header>
<h1>fairhead explore <span class="dataset">${e(info.dataset)}</span></h1>
<p class="subtitle">${e(subtitle)}</p>
<p id="status" role="status" aria-live="polite">Loading…</p>
<p id="error" role="alert" hidden></p>
</header>
<div class="layout">
<form id="controls" autocomplete="off">
<fieldset>
<legend>Fine-tuning</legend>
<label for="method">Set</label>
<select id="method" name="method">${METHODS.map((m) => option(m, METHOD_TEXT[m], m === s.method)).join('')}</select>
<label for="constraint">Penalty</label>
<select id="constraint" name="constraint">${CONSTRAINTS.map((c) => option(c, CONSTRAINT_TEXT[c], c === s.constraint)).join('')}</select>
<details class="help"><summary>Which gap?</summary><ul>
<li>A wrong “yes” harms people (a punitive decision): equal false-positive rates — eo.</li>
<li>A “yes” is help everyone qualified should get (assistive): equal true-positive rates — eopp, or eo for both.</li>
<li>Each group should get the same share of “yes” whatever the labels say: dp (difference) or di (ratio).</li>
<li>The same accuracy for every group: ae; the worst-off group first: mmf.</li>
</ul></details>
<div class="mode" role="radiogroup" aria-label="Strength or target">
<label><input type="radio" name="mode" value="alpha"${s.mode === 'alpha' ? ' checked' : ''}> strength</label>
<label><input type="radio" name="mode" value="target"${s.mode === 'target' ? ' checked' : ''}> target gap</label>
</div>
<div id="alpha-row">
<label for="alpha-slider">Penalty strength α <output id="alpha-value">${e(String(s.alpha))}</output></label>
<input type="range" id="alpha-slider" min="0" max="${ALPHA_STEPS.length - 1}" step="1" value="${alphaPosition}" aria-describedby="alpha-help">
<p class="hint" id="alpha-help">log scale, 0 then 0.01 to 1,000; or type one: <input type="number" id="alpha-input" min="0" step="any" value="${e(String(s.alpha))}" aria-label="Penalty strength α"></p>
</div>
<div id="gap-row">
<label for="gap-slider">Gap at most <output id="gap-value">${e(String(s.maxGap))}</output> on the fine-tuning set</label>
<input type="range" id="gap-slider" min="0" max="${GAP_STEPS.length - 1}" step="1" value="${gapPosition}">
<p class="hint">the most accurate head that meets it; or type one: <input type="number" id="gap-input" min="0" max="1" step="any" value="${e(String(s.maxGap))}" aria-label="Target gap"></p>
</div>
<label for="seed">Seed</label>
<input type="number" id="seed" min="0" step="1" value="${s.seed}">
</fieldset>
<fieldset>
<legend>Groups</legend>
<p class="hint">Sensitive columns to cross (two or more: intersections)</p>
${info.sensitive.map((c) => check('groupBy', c, c, s.groupBy.includes(c))).join('\n')}
<label for="min-group-size">Minimum group size (train + validation rows)</label>
<input type="number" id="min-group-size" min="0" step="1" value="${s.minGroupSize}">
<div class="mode">
<label><input type="radio" name="smallGroups" value="fold"${s.smallGroups === 'fold' ? ' checked' : ''}> fold smaller groups into one</label>
<label><input type="radio" name="smallGroups" value="flag"${s.smallGroups === 'flag' ? ' checked' : ''}> flag them ⚑</label>
</div>
</fieldset>
<fieldset>
<legend>Compare</legend>
<label for="baseline">Before</label>
<select id="baseline">${option('b1', 'B1: ERM head on the training set', s.baseline === 'b1')}${option('shipped', info.hasShipped ? 'the backbone’s own head' : 'the backbone’s own head (none for this task)', s.baseline === 'shipped', !info.hasShipped)}</select>
<p class="hint">Metrics to show (as agreed with stakeholders)</p>
${PERFORMANCE_METRICS.map((m) => check('performance', m, METRIC_LABELS[m], s.performance.includes(m))).join('\n')}
${FAIRNESS_METRICS.map((m) => check('fairness', m, METRIC_LABELS[m], s.fairness.includes(m))).join('\n')}
<label for="curve-metric">Gap on the trade-off curve</label>
<select id="curve-metric">${GAP_METRICS.map((m) => option(m, METRIC_LABELS[m], m === s.curve)).join('')}</select>
<label for="tolerance">Tolerance for a difference (test)</label>
<input type="number" id="tolerance" min="0" max="1" step="0.005" value="${s.tolerance}">
</fieldset>
<fieldset>
<legend>Keep this head</legend>
<button type="button" id="save">Save to ${e(info.out)}</button>
<p id="save-result" role="status"></p>
<p class="hint">The same head, from the command line:</p>
<code id="command"></code>
</fieldset>
</form>
<main>
<section id="warnings-section"><div id="warnings"></div></section>
<section><h2>Headline (test data)</h2><div id="metrics"></div></section>
<section><h2>Trade-off <span id="curve-progress" class="hint"></span></h2><div id="curve"></div></section>
<section><h2>Each group, before and after</h2><div id="groups"></div></section>
<section><h2>Confusion matrix by group</h2><div id="confusion"></div></section>
<section><h2>Does the fairness hold on new data?</h2><div id="train-test"></div></section>
<section><h2>Who flips</h2><div id="flips"></div></section>
<section><h2>Cost</h2><div id="cost"></div><p class="hint" id="timing"></p></section>
</main>
</div>
</body>
</html>
`;
}
