/** A penalty made of weighted gap terms (eo, eopp, dp, ae). Internal. */
import type { LabelledGroups, Penalty, PenaltyGradient, PenaltyInput, PenaltyName, PenaltyOptions } from '../penalty.ts';
import { resolvePenaltyOptions } from '../penalty.ts';
import { gapTerm, hardGapVia, type RateSpec } from './rates.ts';

/** One gap term: its rate spec and weight in the sum. */
export interface WeightedSpec {
  readonly spec: RateSpec;
  readonly weight: number;
}

/** How a gap penalty differs from another: its terms, cell needs and hard gap. */
export interface GapPenaltyDefinition {
  readonly name: PenaltyName;
  terms(columns: number, rate: 'group' | 'conditional'): WeightedSpec[];
  checkCells(set: LabelledGroups, what: string): void;
  hardGapOfTable: Penalty['hardGapOfTable'];
}

/** Build a {@link Penalty} whose value is sum_t weight_t * gap_t. */
export function gapPenalty(definition: GapPenaltyDefinition, options: PenaltyOptions = {}): Penalty {
  const resolved = resolvePenaltyOptions(options);
  return {
    name: definition.name,
    options: resolved,
    replacesLoss: false,
    value(input: PenaltyInput, gradient?: PenaltyGradient, scale = 1): number {
      let total = 0;
      for (const { spec, weight } of definition.terms(input.columns, resolved.rate)) {
        total += weight * gapTerm(input, spec, resolved, gradient, scale * weight);
      }
      return total;
    },
    checkCells(set, what = 'fine-tuning set') {
      definition.checkCells(set, what);
    },
    hardGap: hardGapVia(definition.hardGapOfTable),
    hardGapOfTable: definition.hardGapOfTable,
    toJSON() {
      return { format: 'fairhead.penalty', version: 1, name: definition.name, options: resolved };
    },
  };
}
