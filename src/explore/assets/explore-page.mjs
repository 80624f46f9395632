// The script of the `fairhead explore` page (served as /explore.js; plain browser JavaScript, no build step).
// It reads the controls into a state, keeps the state in the URL, sends it to the server on every change and puts
// the HTML fragments the server rendered (and escaped) into their sections. A response to an older request than
// the newest one is dropped, and the server aborts fits that a newer request made stale, so dragging stays smooth.

const body = document.body;
const token = new URL(location.href).searchParams.get('token') ?? '';
const initial = JSON.parse(body.dataset.initial ?? '{}');
const ALPHAS = JSON.parse(body.dataset.alphas ?? '[]');
const GAPS = JSON.parse(body.dataset.gaps ?? '[]');
const CONSTRAINT_GAPS = JSON.parse(body.dataset.constraintGaps ?? '{}');
const $ = (id) => document.getElementById(id);

const FRAGMENTS = { metrics: 'metrics', curve: 'curve', groups: 'groups', confusion: 'confusion', trainTest: 'train-test', flips: 'flips', cost: 'cost', warnings: 'warnings' };

/** Keys of the state in the URL, with how each is read back. */
const URL_KEYS = {
  method: 'text', constraint: 'text', mode: 'text', alpha: 'number', maxGap: 'number', seed: 'number',
  groupBy: 'list', minGroupSize: 'number', smallGroups: 'text', baseline: 'text',
  performance: 'list', fairness: 'list', curve: 'text', tolerance: 'number',
};

let alpha = initial.alpha;
let maxGap = initial.maxGap;

function checked(name) {
  return [...document.querySelectorAll(`input[name="${name}"]:checked`)].map((input) => input.value);
}

function radio(name) {
  return document.querySelector(`input[name="${name}"]:checked`)?.value;
}

/** The state as the controls show it. */
function readState() {
  return {
    method: $('method').value,
    constraint: $('constraint').value,
    mode: radio('mode') ?? 'alpha',
    alpha,
    maxGap,
    seed: Math.max(0, Math.floor(Number($('seed').value) || 0)),
    groupBy: checked('groupBy'),
    minGroupSize: Math.max(0, Math.floor(Number($('min-group-size').value) || 0)),
    smallGroups: radio('smallGroups') ?? 'fold',
    baseline: $('baseline').value,
    performance: checked('performance'),
    fairness: checked('fairness'),
    curve: $('curve-metric').value,
    tolerance: Math.min(1, Math.max(0, Number($('tolerance').value) || 0)),
  };
}

function nearest(steps, value) {
  let best = 0;
  let distance = Infinity;
  steps.forEach((v, i) => {
    const d = value > 0 && v > 0 ? Math.abs(Math.log(v / value)) : Math.abs(v - value);
    if (d < distance) {
      distance = d;
      best = i;
    }
  });
  return best;
}

function setSelect(select, value) {
  const option = [...select.options].find((o) => o.value === value && !o.disabled);
  if (option) select.value = value;
}

/** Show a state on the controls (values the page does not offer are left as they are). */
function writeControls(state) {
  setSelect($('method'), state.method);
  setSelect($('constraint'), state.constraint);
  for (const input of document.querySelectorAll('input[name="mode"]')) input.checked = input.value === state.mode;
  if (Number.isFinite(state.alpha) && state.alpha >= 0) alpha = state.alpha;
  if (Number.isFinite(state.maxGap) && state.maxGap >= 0 && state.maxGap <= 1) maxGap = state.maxGap;
  $('seed').value = String(state.seed);
  for (const input of document.querySelectorAll('input[name="groupBy"]')) input.checked = state.groupBy.includes(input.value);
  if (checked('groupBy').length === 0) for (const input of document.querySelectorAll('input[name="groupBy"]')) input.checked = true;
  $('min-group-size').value = String(state.minGroupSize);
  for (const input of document.querySelectorAll('input[name="smallGroups"]')) input.checked = input.value === state.smallGroups;
  setSelect($('baseline'), state.baseline);
  for (const input of document.querySelectorAll('input[name="performance"]')) input.checked = state.performance.includes(input.value);
  for (const input of document.querySelectorAll('input[name="fairness"]')) input.checked = state.fairness.includes(input.value);
  setSelect($('curve-metric'), state.curve);
  $('tolerance').value = String(state.tolerance);
  showStrength();
}

/** The strength and target controls: their values, and which of them apply. */
function showStrength() {
  $('alpha-slider').value = String(nearest(ALPHAS, alpha));
  $('alpha-value').textContent = String(alpha);
  if (document.activeElement !== $('alpha-input')) $('alpha-input').value = String(alpha);
  $('gap-slider').value = String(nearest(GAPS, maxGap));
  $('gap-value').textContent = String(maxGap);
  if (document.activeElement !== $('gap-input')) $('gap-input').value = String(maxGap);
  const penalised = $('method').value.startsWith('m');
  const target = radio('mode') === 'target';
  $('constraint').disabled = !penalised;
  for (const input of document.querySelectorAll('input[name="mode"]')) input.disabled = !penalised;
  $('alpha-row').hidden = target;
  $('gap-row').hidden = !target;
  for (const id of ['alpha-slider', 'alpha-input', 'gap-slider', 'gap-input']) $(id).disabled = !penalised;
}

/** The state from the URL's query, over `base`: unknown keys and unreadable values are ignored. */
function stateFromUrl(base) {
  const params = new URL(location.href).searchParams;
  const state = { ...base };
  for (const [key, kind] of Object.entries(URL_KEYS)) {
    const raw = params.get(key);
    if (raw === null) continue;
    if (kind === 'number') {
      const n = Number(raw);
      if (raw.trim() !== '' && Number.isFinite(n)) state[key] = n;
    } else if (kind === 'list') state[key] = raw === '' ? [] : raw.split(',');
    else state[key] = raw;
  }
  // an address naming a penalty but no curve: the curve shows that penalty's gap, as when it is chosen on the page
  if (params.has('constraint') && !params.has('curve') && CONSTRAINT_GAPS[state.constraint] !== undefined) state.curve = CONSTRAINT_GAPS[state.constraint];
  return state;
}

function urlOf(state) {
  const params = new URLSearchParams({ token });
  for (const key of Object.keys(URL_KEYS)) {
    const value = state[key];
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  return `${location.pathname}?${params}`;
}

async function post(path, payload) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-fairhead-token': token },
    body: JSON.stringify(payload),
    cache: 'no-store',
  });
  const json = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(json.error ?? `${response.status} ${response.statusText}`);
  return json;
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = message === '';
}

let sequence = 0;
let curveTimer = 0;

/** Send the state; show the answer unless a newer request went out meanwhile. */
async function refresh() {
  showStrength();
  const state = readState();
  history.replaceState(null, '', urlOf(state));
  const mine = ++sequence;
  const started = performance.now();
  body.dataset.busy = '1';
  $('status').textContent = 'Fitting…';
  clearTimeout(curveTimer);
  let view;
  try {
    view = await post('/api/view', state);
  } catch (error) {
    if (mine === sequence) {
      showError(String(error.message ?? error));
      $('status').textContent = 'The server could not show this choice.';
      delete body.dataset.busy;
    }
    return;
  }
  if (mine !== sequence) return;
  // only a newer request supersedes one; if this page's newest was (another tab's request), it asks again
  if (view.superseded) {
    void refresh();
    return;
  }
  showError('');
  for (const [name, id] of Object.entries(FRAGMENTS)) $(id).innerHTML = view.fragments[name];
  $('warnings-section').hidden = view.fragments.warnings === '';
  $('command').textContent = view.command;
  const elapsed = Math.round(performance.now() - started);
  $('status').textContent = `Updated in ${elapsed} ms (${view.cached ? 'head from the cache' : `head fitted in ${Math.round(view.record.cost.seconds * 1000)} ms`}).`;
  $('timing').textContent = `This view: ${elapsed} ms from the request to the page, ${Math.round(view.serverMs)} ms on the server.`;
  showCurveProgress(view.curve);
  body.dataset.shown = view.key;
  delete body.dataset.busy;
  if (view.curve.done < view.curve.total) curveTimer = setTimeout(() => pollCurve(mine, state), 400);
}

function showCurveProgress(curve) {
  $('curve-progress').textContent = curve.done < curve.total ? `(${curve.done} of ${curve.total} strengths fitted…)` : '';
}

async function pollCurve(mine, state) {
  if (mine !== sequence) return;
  let curve;
  try {
    curve = await post('/api/curve', state);
  } catch {
    return;
  }
  if (mine !== sequence) return;
  if (curve.html !== '') $('curve').innerHTML = curve.html;
  showCurveProgress(curve);
  if (curve.done < curve.total) curveTimer = setTimeout(() => pollCurve(mine, state), 400);
}

async function save() {
  const button = $('save');
  button.disabled = true;
  $('save-result').textContent = 'Saving…';
  try {
    const result = await post('/api/save', readState());
    $('save-result').textContent = `Saved ${result.files.length} files to ${result.out}.`;
    $('command').textContent = result.command;
  } catch (error) {
    $('save-result').textContent = `Not saved: ${error.message ?? error}`;
  } finally {
    button.disabled = false;
  }
}

$('alpha-slider').addEventListener('input', () => {
  alpha = ALPHAS[Number($('alpha-slider').value)] ?? alpha;
  void refresh();
});
$('gap-slider').addEventListener('input', () => {
  maxGap = GAPS[Number($('gap-slider').value)] ?? maxGap;
  void refresh();
});
$('alpha-input').addEventListener('change', () => {
  const v = Number($('alpha-input').value);
  if ($('alpha-input').value.trim() !== '' && Number.isFinite(v) && v >= 0) alpha = v;
  void refresh();
});
$('gap-input').addEventListener('change', () => {
  const v = Number($('gap-input').value);
  if ($('gap-input').value.trim() !== '' && Number.isFinite(v) && v >= 0 && v <= 1) maxGap = v;
  void refresh();
});
for (const id of ['seed', 'min-group-size', 'tolerance']) $(id).addEventListener('change', () => void refresh());
for (const id of ['method', 'baseline', 'curve-metric']) $(id).addEventListener('change', () => void refresh());
$('constraint').addEventListener('change', () => {
  // the curve shows the gap the new penalty closes (the person can pick another after)
  setSelect($('curve-metric'), CONSTRAINT_GAPS[$('constraint').value]);
  void refresh();
});
for (const input of document.querySelectorAll('input[type="checkbox"], input[type="radio"]')) {
  input.addEventListener('change', () => {
    // at least one sensitive column stays chosen
    if (input.name === 'groupBy' && checked('groupBy').length === 0) input.checked = true;
    void refresh();
  });
}
$('controls').addEventListener('submit', (event) => event.preventDefault());
$('save').addEventListener('click', () => void save());

writeControls(stateFromUrl(initial));
void refresh();
