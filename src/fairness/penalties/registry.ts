import { InputError } from '../../errors.ts';
import { accuracyEquality } from './accuracy-equality.ts';
import { demographicParity } from './demographic-parity.ts';
import { disparateImpact } from './disparate-impact.ts';
import { equalOpportunity } from './equal-opportunity.ts';
import { equalizedOdds } from './equalized-odds.ts';
import { maxMinFairness } from './max-min-fairness.ts';
import { PENALTY_NAMES, type Penalty, type PenaltyName, type PenaltyOptions } from './penalty.ts';

/** Every criterion by name: adding one is a file plus one line here (and in PENALTY_NAMES). */
const FACTORIES: Readonly<Record<PenaltyName, (options?: PenaltyOptions) => Penalty>> = {
  eo: equalizedOdds,
  dp: demographicParity,
  eopp: equalOpportunity,
  di: disparateImpact,
  ae: accuracyEquality,
  mmf: maxMinFairness,
};

/** True when `name` is a registered {@link PenaltyName}. */
export function isPenaltyName(name: string): name is PenaltyName {
  return (PENALTY_NAMES as readonly string[]).includes(name);
}

/**
 * The penalty registered under `name`, with `options`. Unknown name -> InputError listing the valid names.
 *
 * @example
 * createPenalty('eo', { rate: 'conditional' }).name; // 'eo'
 * createPenalty('eq'); // InputError: Unknown constraint "eq". Valid: eo, dp, eopp, di, ae, mmf
 */
export function createPenalty(name: string, options: PenaltyOptions = {}): Penalty {
  if (!isPenaltyName(name)) throw new InputError(`Unknown constraint "${name}". Valid: ${PENALTY_NAMES.join(', ')}`);
  return FACTORIES[name](options);
}

/**
 * Rebuild a penalty from {@link Penalty.toJSON} output; `source` names the file in errors.
 *
 * @example
 * penaltyFromJSON(createPenalty('dp').toJSON()).name; // 'dp'
 */
export function penaltyFromJSON(json: unknown, source = 'penalty'): Penalty {
  const o = json as { format?: unknown; version?: unknown; name?: unknown; options?: unknown } | null;
  if (!o || typeof o !== 'object' || o.format !== 'fairhead.penalty') {
    throw new InputError(`${source}: not a fairhead penalty (expected format "fairhead.penalty")`);
  }
  if (o.version !== 1) throw new InputError(`${source}: penalty format version ${String(o.version)} is not supported (this fairhead reads version 1)`);
  const options = (o.options && typeof o.options === 'object' ? o.options : {}) as PenaltyOptions;
  return createPenalty(String(o.name), options);
}
