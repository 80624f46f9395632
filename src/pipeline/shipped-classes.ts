import { LinearHead } from '../head/linear-head.ts';

/**
 * The backbone's own binary head as a predictor of this task's two classes, matched by name (trimmed, any case):
 * - the same names in the same order, or a head whose classes are unnamed ("0", "1"): as it is;
 * - the same names the other way round (the task's positive class is the head's class 0): the head flipped
 *   (w -> -w, b -> -b), so that its class 1 is the task's;
 * - other names (face-api's "male" / "female" head against a target "smiling"): `{ mismatch }`, a warning that no
 *   `shipped` baseline is given, since that head predicts something else;
 * - named head classes against a task coded "0" / "1" cannot be matched: as it is (UTKFace codes gender 0 = male,
 *   1 = female, face-api's order).
 *
 * @example
 * alignShippedHead(faceApiHead, ['female', 'male']).head?.classes; // ['female', 'male'], weights negated
 */
export function alignShippedHead(head: LinearHead, classes: readonly string[]): { head?: LinearHead; mismatch?: string } {
  const names = head.classes.map(normalised);
  const task = classes.map(normalised);
  if (names.length !== 2 || task.length !== 2) return { head };
  const unnamed = (c: readonly string[]): boolean => c[0] === '0' && c[1] === '1';
  if (unnamed(names) || unnamed(task) || (names[0] === task[0] && names[1] === task[1])) return { head };
  if (names[0] === task[1] && names[1] === task[0]) {
    return { head: new LinearHead(classes, head.inputDim, head.weights.map((v) => -v), head.bias.map((v) => -v)) };
  }
  return {
    mismatch: `the backbone's own last layer predicts ${head.classes.map((c) => JSON.stringify(c)).join(' / ')}, not this target's ${classes.map((c) => JSON.stringify(c)).join(' / ')}: no "shipped" baseline (B1, the plain ERM head, is the one to compare with)`,
  };
}

function normalised(name: string): string {
  return name.trim().toLowerCase();
}
