// `node scripts/ci/make-images.mjs DIR N`: N small PNG images in DIR/images and DIR/labels.csv (file,y,g), for the
// cluster test (scripts/ci/slurm.sh). Image i is a 48 x 48 picture whose colour and stripes depend on its label y
// and group g, plus seeded noise, and some labels are flipped (more in group b), so a head fitted on any image
// embedding learns something, not everything, and unequally by group. Deterministic: the same N, the same bytes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

const [dir, count = '400'] = process.argv.slice(2);
if (!dir) {
  process.stderr.write('usage: node scripts/ci/make-images.mjs DIR [N]\n');
  process.exit(2);
}
const n = Number(count);
const side = 48;
mkdirSync(join(dir, 'images'), { recursive: true });
let seed = 12345;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const lines = ['file,y,g'];
for (let i = 0; i < n; i++) {
  const g = random() < 0.35 ? 'b' : 'a';
  const y = random() < (g === 'a' ? 0.5 : 0.3) ? 1 : 0;
  const pixels = Buffer.alloc(side * side * 3);
  const stripe = 4 + (y ? 2 : 6) + Math.floor(random() * 3);
  for (let r = 0; r < side; r++) {
    for (let c = 0; c < side; c++) {
      const o = (r * side + c) * 3;
      const on = Math.floor((r + (g === 'b' ? c : 0)) / stripe) % 2 === 0;
      const noise = random() * 60;
      pixels[o] = Math.min(255, (y ? 150 : 70) + (on ? 40 : 0) + noise);
      pixels[o + 1] = Math.min(255, (g === 'a' ? 140 : 90) + noise);
      pixels[o + 2] = Math.min(255, 60 + (on ? 90 : 0) + noise);
    }
  }
  const name = `img${String(i).padStart(5, '0')}.png`;
  await sharp(pixels, { raw: { width: side, height: side, channels: 3 } }).png().toFile(join(dir, 'images', name));
  // labels that the picture does not fully tell: 10% flipped in group a, 25% in group b
  const label = random() < (g === 'a' ? 0.1 : 0.25) ? 1 - y : y;
  lines.push(`${name},${label},${g}`);
}
writeFileSync(join(dir, 'labels.csv'), `${lines.join('\n')}\n`);
