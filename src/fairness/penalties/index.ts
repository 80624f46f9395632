/** Fairness penalties: one interface, one file per criterion, a registry by name. */
export type { LabelledGroups, Penalty, PenaltyGradient, PenaltyInput, PenaltyJSON, PenaltyName, PenaltyOptions, ResolvedPenaltyOptions, Smoothing } from './penalty.ts';
export { PENALTY_NAMES, resolvePenaltyOptions } from './penalty.ts';
export { createPenalty, isPenaltyName, penaltyFromJSON } from './registry.ts';
export { equalizedOdds } from './equalized-odds.ts';
export { equalOpportunity } from './equal-opportunity.ts';
export { demographicParity } from './demographic-parity.ts';
export { disparateImpact } from './disparate-impact.ts';
export { accuracyEquality } from './accuracy-equality.ts';
export { maxMinFairness } from './max-min-fairness.ts';
export { cellCounts, positiveLabels, predictionTable } from './_internal/rates.ts';
