/**
 * Test support (not a test): where the tests' data lives. Everything here is in the repository, so that a bare
 * clone passes `npm test`:
 * - UCI Adult: `data/adult/` (CC BY 4.0, see data/adult/PROVENANCE.md);
 * - fairlearn's golden values: `test/fixtures/fairlearn-golden.json` (see test/fixtures/README.md);
 * - images: generated here with sharp (see {@link makeImageFolder}), never UTKFace, whose licence forbids
 *   redistribution.
 *
 * The one exception: tests of what only real faces can show (the face-api gender head's accuracy, the counts of the
 * real UTKFace labels) read the UTKFace folder named by the environment variable `FAIRHEAD_UTKFACE` and are
 * reported as skipped, by name, when it is not set ({@link describeWithUtkface}).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe } from 'vitest';

/** The repository's root folder (with a trailing slash). */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** UCI Adult's training file (32,561 rows, header line added, fields separated by ", "). */
export const ADULT_TRAIN = join(REPO, 'data', 'adult', 'adult.data');
/** UCI Adult's test file (16,281 rows, labels with a trailing "."). */
export const ADULT_TEST = join(REPO, 'data', 'adult', 'adult.test');
/** fairlearn 0.9.0's golden values (see test/fixtures/README.md). */
export const FAIRLEARN_GOLDEN = join(REPO, 'test', 'fixtures', 'fairlearn-golden.json');

/** The UTKFace folder (`images/`, `labels.csv`) from `FAIRHEAD_UTKFACE`, or undefined when it is not set. */
export const UTKFACE: string | undefined = process.env['FAIRHEAD_UTKFACE'] !== undefined && process.env['FAIRHEAD_UTKFACE'] !== '' ? process.env['FAIRHEAD_UTKFACE'] : undefined;

/**
 * `describe` for tests that need the real UTKFace faces: skipped when `FAIRHEAD_UTKFACE` is not set, with the
 * reason in the suite's name so that the skip is visible in the test report.
 */
export function describeWithUtkface(name: string, body: (utkface: string) => void): void {
  describe.skipIf(UTKFACE === undefined)(`${name} [real faces: needs FAIRHEAD_UTKFACE]`, () => body(UTKFACE ?? ''));
}

/** One generated image of {@link makeImageFolder}. */
export interface GeneratedImage {
  readonly file: string;
  /** 0 or 1: the shape drawn (0: a tall dark ellipse, 1: a wide light one). */
  readonly label: number;
  /** 0..groups-1: the background's colour family. */
  readonly group: number;
  /** A number 1..80 drawn with the image (a UTKFace-like "age"). */
  readonly age: number;
}

/** Options of {@link makeImageFolder}. */
export interface ImageFolderOptions {
  /** Images to write (default 100). */
  readonly count?: number;
  /** Width and height in pixels (default 64). */
  readonly size?: number;
  /** Number of groups (default 5, as UTKFace's races 0..4). */
  readonly groups?: number;
  /** Seed of the generator (default 0): the same seed writes the same bytes. */
  readonly seed?: number;
  /** `jpeg` (default) or `png`. */
  readonly format?: 'jpeg' | 'png';
}

/** mulberry32: a tiny seeded generator for the images' noise (uniform in [0, 1)). */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Background colours of the groups (RGB), distinct enough that a network sees the group. */
const GROUP_COLOURS: readonly (readonly [number, number, number])[] = [
  [200, 170, 150], [90, 60, 50], [170, 150, 110], [140, 100, 80], [120, 140, 160], [60, 120, 90], [150, 90, 150], [110, 110, 110],
];

/**
 * Write a folder of generated images and a UTKFace-shaped `labels.csv` (`file,age,gender,race,in_balanced_2000`,
 * with `gender` the drawn label and `race` the group), so that image pipelines can be tested on a bare clone.
 * Each image is a noisy background in its group's colour with an ellipse whose shape and shade give the label
 * (with jitter in position, size and shade): a small CNN learns the label in an epoch or two, and a frozen network
 * sees both the label and the group. Labels and groups are balanced in turn (image i: label i mod 2, group
 * floor(i / 2) mod groups); `in_balanced_2000` is 1 on every row.
 *
 * @example
 * const { images, labels, rows } = await makeImageFolder(dir, { count: 40 });
 * // images = dir/images (40 JPEGs of 64 x 64), labels = dir/labels.csv, rows[0].file = '00000_l0_g0.jpg'
 */
export async function makeImageFolder(dir: string, options: ImageFolderOptions = {}): Promise<{ images: string; labels: string; rows: GeneratedImage[] }> {
  const count = options.count ?? 100;
  const size = options.size ?? 64;
  const groups = options.groups ?? 5;
  const format = options.format ?? 'jpeg';
  const next = uniform(options.seed ?? 0);
  const images = join(dir, 'images');
  mkdirSync(images, { recursive: true });
  const rows: GeneratedImage[] = [];
  const pixels = Buffer.alloc(size * size * 3);
  for (let i = 0; i < count; i++) {
    const label = i % 2;
    const group = Math.floor(i / 2) % groups;
    const age = 1 + Math.floor(next() * 80);
    const [br, bg, bb] = GROUP_COLOURS[group % GROUP_COLOURS.length] as readonly [number, number, number];
    const cx = size * (0.5 + (next() - 0.5) * 0.2);
    const cy = size * (0.5 + (next() - 0.5) * 0.2);
    const scale = 0.8 + next() * 0.4;
    const [rx, ry] = label === 1 ? [size * 0.32 * scale, size * 0.2 * scale] : [size * 0.2 * scale, size * 0.32 * scale];
    const shade = label === 1 ? 200 + next() * 50 : 30 + next() * 60;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const inside = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1;
        const noise = (next() - 0.5) * 40;
        const o = (y * size + x) * 3;
        const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));
        pixels[o] = clamp((inside ? shade : br) + noise);
        pixels[o + 1] = clamp((inside ? shade * 0.9 : bg) + noise);
        pixels[o + 2] = clamp((inside ? shade * 0.8 : bb) + noise);
      }
    }
    const file = `${String(i).padStart(5, '0')}_l${label}_g${group}.${format === 'jpeg' ? 'jpg' : 'png'}`;
    const image = sharp(pixels, { raw: { width: size, height: size, channels: 3 } });
    await (format === 'jpeg' ? image.jpeg({ quality: 90 }) : image.png()).toFile(join(images, file));
    rows.push({ file, label, group, age });
  }
  const labels = join(dir, 'labels.csv');
  writeFileSync(labels, `file,age,gender,race,in_balanced_2000\n${rows.map((r) => `${r.file},${r.age},${r.label},${r.group},1`).join('\n')}\n`);
  return { images, labels, rows };
}
