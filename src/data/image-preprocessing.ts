/**
 * What an image model is fed: one serialisable {@link ImagePreprocessing} object, built from the model's input
 * shape, a `preprocessor_config.json` (Hugging Face) or timm `pretrained_cfg`, and flags (in that order, later ones
 * overriding), then recorded in the model folder and metrics.json, and applied the same way by `run`, `predict` and
 * `export`.
 *
 * Steps, in order (those of torchvision's `Resize, CenterCrop, ToTensor, Normalize` and of Hugging Face's image
 * processors):
 * 1. decode (sharp), apply the EXIF orientation, drop alpha, sRGB bytes;
 * 2. resize: the short side to `shortestEdge` keeping the aspect ratio (long side = floor(long * edge / short),
 *    as torchvision and transformers), or to exactly `height x width` with `fit` `fill` (stretch, what Hugging
 *    Face does for `size: {height, width}`), `contain` (keep the aspect ratio, pad with black, centred) or `cover`
 *    (keep the aspect ratio, crop the centre). `resample` names Pillow's filter, computed byte for byte as Pillow
 *    does (src/data/_internal/pil-resample.ts); `sharp` is fairhead's historical resize (libvips Lanczos-3), kept
 *    for models configured by nothing (see {@link defaultImagePreprocessing});
 * 3. centre crop to `crop` (top = floor((h - cropH) / 2), as transformers; torchvision's round-half-to-even puts the
 *    crop one pixel lower or further right when h - cropH is 3 mod 4);
 * 4. per channel: (byte * rescale - mean[c]) / std[c], float32, with `channels` `rgb` or `bgr` (mean and std are in
 *    the order of the model's channels);
 * 5. laid out `nchw` (channels first) or `nhwc`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { InputError } from '../errors.ts';
import { PIL_RESAMPLE_CODES, pilResize, type PilFilter } from './_internal/pil-resample.ts';
import { IMAGE_FITS, type ImageFit } from './images.ts';

/** How the image is resized; see the module comment. */
export type ImageResample = PilFilter | 'sharp';

/** Valid values of {@link ImageResample}. */
export const IMAGE_RESAMPLES: readonly ImageResample[] = ['bilinear', 'bicubic', 'lanczos', 'nearest', 'box', 'hamming', 'sharp'];

/** The resize step: the short side to a length (aspect kept), or an exact size with a fit. */
export type ImageResize = { readonly shortestEdge: number } | { readonly height: number; readonly width: number; readonly fit: ImageFit };

/** Everything that turns an image file into the model's float tensor (module comment). Plain JSON. */
export interface ImagePreprocessing {
  readonly resize: ImageResize;
  readonly resample: ImageResample;
  /** Centre crop after the resize; absent: none. */
  readonly crop?: { readonly height: number; readonly width: number };
  /** Bytes are multiplied by this first (1/255 gives [0, 1]). */
  readonly rescale: number;
  /** Per model channel, subtracted after rescaling. */
  readonly mean: readonly number[];
  /** Per model channel, divided by after subtracting the mean. */
  readonly std: readonly number[];
  readonly channels: 'rgb' | 'bgr';
  readonly layout: 'nchw' | 'nhwc';
}

/** Height and width of the tensor an {@link ImagePreprocessing} produces (every image the same). */
export function tensorSize(p: ImagePreprocessing): { height: number; width: number } {
  if (p.crop) return { height: p.crop.height, width: p.crop.width };
  if ('shortestEdge' in p.resize) throw new InputError('a resize of the shortest edge needs a centre crop (--crop) so that every image has the same size');
  return { height: p.resize.height, width: p.resize.width };
}

/** The dims of one image's tensor after the batch: [3, H, W] (nchw) or [H, W, 3] (nhwc). */
export function tensorDims(p: ImagePreprocessing): [number, number, number] {
  const { height, width } = tensorSize(p);
  return p.layout === 'nchw' ? [3, height, width] : [height, width, 3];
}

/**
 * fairhead's behaviour for a model that no config and no flag describe: resized to the model's `height x width`
 * keeping the aspect ratio, padded with black (sharp, Lanczos-3), values in [0, 1], RGB, channels first.
 *
 * @example
 * defaultImagePreprocessing(64, 64).rescale; // 1 / 255
 */
export function defaultImagePreprocessing(height: number, width: number): ImagePreprocessing {
  return { resize: { height, width, fit: 'contain' }, resample: 'sharp', rescale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1], channels: 'rgb', layout: 'nchw' };
}

/** Parts of an {@link ImagePreprocessing} named by a config file or flags; what is absent is left as it was. */
export interface ImagePreprocessingOverrides {
  readonly resize?: ImageResize;
  /** Resize kept from the config, only the fit changed (`--image-fit`). */
  readonly fit?: ImageFit;
  readonly resample?: ImageResample;
  /** `null` removes a crop. */
  readonly crop?: { readonly height: number; readonly width: number } | null;
  readonly rescale?: number;
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  readonly channels?: 'rgb' | 'bgr';
  readonly layout?: 'nchw' | 'nhwc';
}

type Json = Record<string, unknown>;

function wrongType(file: string, key: string, expected: string, value: unknown): InputError {
  return new InputError(`${file}: "${key}" should be ${expected}, received ${JSON.stringify(value)}`);
}

function positiveInt(file: string, key: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw wrongType(file, key, 'a positive integer', v);
  return v;
}

function bool(file: string, key: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw wrongType(file, key, 'true or false', v);
  return v;
}

function triple(file: string, key: string, v: unknown, positive: boolean): number[] {
  const list = typeof v === 'number' ? [v, v, v] : v;
  if (!Array.isArray(list) || list.length !== 3 || !list.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
    throw wrongType(file, key, `a number or a list of 3 ${positive ? 'positive ' : ''}numbers`, v);
  }
  return list as number[];
}

function sizeOf(file: string, key: string, v: unknown, intMeans: 'square' | 'shortest'): ImageResize {
  if (typeof v === 'number') {
    const n = positiveInt(file, key, v);
    return intMeans === 'square' ? { height: n, width: n, fit: 'fill' } : { shortestEdge: n };
  }
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Json;
    if (o['shortest_edge'] !== undefined) return { shortestEdge: positiveInt(file, `${key}.shortest_edge`, o['shortest_edge']) };
    if (o['height'] !== undefined || o['width'] !== undefined) {
      return { height: positiveInt(file, `${key}.height`, o['height']), width: positiveInt(file, `${key}.width`, o['width']), fit: 'fill' };
    }
  }
  throw wrongType(file, key, 'an integer, {"shortest_edge": N} or {"height": H, "width": W}', v);
}

const TIMM_INTERPOLATIONS: Readonly<Record<string, PilFilter>> = { bilinear: 'bilinear', bicubic: 'bicubic', nearest: 'nearest', lanczos: 'lanczos', box: 'box', hamming: 'hamming' };

/** A timm `pretrained_cfg`: input_size, crop_pct, crop_mode, interpolation, mean, std. */
function fromTimm(file: string, cfg: Json): ImagePreprocessingOverrides {
  const out: { -readonly [K in keyof ImagePreprocessingOverrides]: ImagePreprocessingOverrides[K] } = {};
  const size = cfg['input_size'];
  if (!Array.isArray(size) || size.length !== 3 || !size.every((x) => typeof x === 'number' && Number.isInteger(x) && x > 0)) {
    throw wrongType(file, 'input_size', 'a list [channels, height, width] of positive integers', size);
  }
  const [, h, w] = size as [number, number, number];
  const pct = cfg['crop_pct'] ?? 1;
  if (typeof pct !== 'number' || !(pct > 0 && pct <= 1)) throw wrongType(file, 'crop_pct', 'a number in (0, 1]', pct);
  const mode = cfg['crop_mode'] ?? 'center';
  if (mode !== 'center' && mode !== 'squash') throw wrongType(file, 'crop_mode', '"center" or "squash"', mode);
  // timm's eval transform: scale = floor(size / crop_pct), Resize(scale) (or (scaleH, scaleW) when squashing), CenterCrop(size)
  if (h === w && mode === 'center') out.resize = { shortestEdge: Math.floor(h / pct) };
  else out.resize = { height: Math.floor(h / pct), width: Math.floor(w / pct), fit: 'fill' };
  out.crop = { height: h, width: w };
  const interpolation = cfg['interpolation'] ?? 'bilinear';
  const filter = typeof interpolation === 'string' ? TIMM_INTERPOLATIONS[interpolation] : undefined;
  if (!filter) throw wrongType(file, 'interpolation', `one of ${Object.keys(TIMM_INTERPOLATIONS).join(', ')}`, interpolation);
  out.resample = filter;
  out.rescale = 1 / 255;
  if (cfg['mean'] !== undefined) out.mean = triple(file, 'mean', cfg['mean'], false);
  if (cfg['std'] !== undefined) out.std = triple(file, 'std', cfg['std'], true);
  return out;
}

/**
 * Read an image preprocessing config: Hugging Face's `preprocessor_config.json` (`do_resize`, `size`, `resample`,
 * `do_center_crop`, `crop_size`, `do_rescale`, `rescale_factor`, `do_normalize`, `image_mean`, `image_std`, and
 * `data_format` "channels_first" / "channels_last"), timm's `pretrained_cfg` names (`input_size`, `crop_pct`,
 * `crop_mode`, `interpolation`, `mean`, `std`; at the top level or under `pretrained_cfg`, as in a timm
 * `config.json`), plus fairhead's `channel_order` ("rgb" / "bgr") and `resize_fit` ("fill" / "contain" / "cover").
 * Other keys are ignored. An integer `size` means a square when there is no centre crop and the shortest edge when
 * there is one (what ViT's and CLIP's processors do with it).
 *
 * Errors (InputError naming the file and key): not JSON, not an object, a key of the wrong type
 * (`pre.json: "image_mean" should be a number or a list of 3 numbers, received "0.5"`).
 */
export function readPreprocessorConfig(file: string): ImagePreprocessingOverrides {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InputError(`${file}: cannot read the preprocessing config (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: not valid JSON; expected a preprocessor_config.json (Hugging Face) or a timm pretrained_cfg`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new InputError(`${file}: expected a JSON object of preprocessing settings`);
  return preprocessorConfigOverrides(json as Json, file);
}

/** {@link readPreprocessorConfig} on parsed JSON (`file` names it in messages). */
export function preprocessorConfigOverrides(raw: Json, file: string): ImagePreprocessingOverrides {
  const nested = raw['pretrained_cfg'];
  const cfg = nested && typeof nested === 'object' && !Array.isArray(nested) ? (nested as Json) : raw;
  const out: { -readonly [K in keyof ImagePreprocessingOverrides]: ImagePreprocessingOverrides[K] } =
    cfg['input_size'] !== undefined && cfg['size'] === undefined ? fromTimm(file, cfg) : {};
  const flag = (key: string, fallback: boolean): boolean => (cfg[key] === undefined ? fallback : bool(file, key, cfg[key]));
  if (cfg['input_size'] === undefined || cfg['size'] !== undefined) {
    const doCrop = flag('do_center_crop', cfg['crop_size'] !== undefined);
    if (flag('do_resize', true) && cfg['size'] !== undefined) out.resize = sizeOf(file, 'size', cfg['size'], doCrop ? 'shortest' : 'square');
    if (doCrop && cfg['crop_size'] !== undefined) {
      const c = sizeOf(file, 'crop_size', cfg['crop_size'], 'square');
      if ('shortestEdge' in c) throw wrongType(file, 'crop_size', 'an integer or {"height": H, "width": W}', cfg['crop_size']);
      out.crop = { height: c.height, width: c.width };
    } else if (cfg['do_center_crop'] === false) {
      out.crop = null;
    }
    if (cfg['resample'] !== undefined) {
      const code = cfg['resample'];
      const filter = typeof code === 'number' ? PIL_RESAMPLE_CODES[code] : undefined;
      if (!filter) throw wrongType(file, 'resample', 'a Pillow resampling code (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)', code);
      out.resample = filter;
    } else if (out.resize !== undefined) {
      out.resample = 'bilinear';
    }
    if (flag('do_rescale', true)) {
      const factor = cfg['rescale_factor'] ?? 1 / 255;
      if (typeof factor !== 'number' || !Number.isFinite(factor) || factor <= 0) throw wrongType(file, 'rescale_factor', 'a positive number', factor);
      out.rescale = factor;
    } else {
      out.rescale = 1;
    }
    if (flag('do_normalize', true)) {
      if (cfg['image_mean'] !== undefined) out.mean = triple(file, 'image_mean', cfg['image_mean'], false);
      if (cfg['image_std'] !== undefined) out.std = triple(file, 'image_std', cfg['image_std'], true);
    } else {
      out.mean = [0, 0, 0];
      out.std = [1, 1, 1];
    }
  }
  const order = cfg['channel_order'];
  if (order !== undefined) {
    if (order !== 'rgb' && order !== 'bgr') throw wrongType(file, 'channel_order', '"rgb" or "bgr"', order);
    out.channels = order;
  }
  const format = cfg['data_format'];
  if (format !== undefined) {
    if (format !== 'channels_first' && format !== 'channels_last') throw wrongType(file, 'data_format', '"channels_first" or "channels_last"', format);
    out.layout = format === 'channels_first' ? 'nchw' : 'nhwc';
  }
  const fit = cfg['resize_fit'];
  if (fit !== undefined) {
    if (!IMAGE_FITS.includes(fit as ImageFit)) throw wrongType(file, 'resize_fit', IMAGE_FITS.map((f) => `"${f}"`).join(', '), fit);
    out.fit = fit as ImageFit;
  }
  return out;
}

/** `base` with the parts `o` names replaced. */
export function applyOverrides(base: ImagePreprocessing, o: ImagePreprocessingOverrides): ImagePreprocessing {
  let resize = o.resize ?? base.resize;
  if (o.fit !== undefined && !('shortestEdge' in resize)) resize = { ...resize, fit: o.fit };
  const crop = o.crop === null ? undefined : (o.crop ?? base.crop);
  return {
    resize,
    resample: o.resample ?? base.resample,
    ...(crop ? { crop } : {}),
    rescale: o.rescale ?? base.rescale,
    mean: o.mean ?? base.mean,
    std: o.std ?? base.std,
    channels: o.channels ?? base.channels,
    layout: o.layout ?? base.layout,
  };
}

/**
 * The same preprocessing as a Hugging Face `preprocessor_config.json` (with fairhead's `channel_order`, `resize_fit`
 * and `data_format`), written beside an exported model so that other tools, and fairhead itself, read it back.
 * `resample: "sharp"` has no Pillow code and is written as `resize_fit`'s companion `fairhead_resample: "sharp"`.
 */
export function toPreprocessorConfig(p: ImagePreprocessing): Record<string, unknown> {
  const codes = Object.entries(PIL_RESAMPLE_CODES).find(([, f]) => f === p.resample);
  return {
    image_processor_type: 'fairhead',
    do_resize: true,
    size: 'shortestEdge' in p.resize ? { shortest_edge: p.resize.shortestEdge } : { height: p.resize.height, width: p.resize.width },
    ...('shortestEdge' in p.resize ? {} : { resize_fit: p.resize.fit }),
    ...(codes ? { resample: Number(codes[0]) } : { fairhead_resample: p.resample }),
    do_center_crop: p.crop !== undefined,
    ...(p.crop ? { crop_size: { height: p.crop.height, width: p.crop.width } } : {}),
    do_rescale: true,
    rescale_factor: p.rescale,
    do_normalize: true,
    image_mean: [...p.mean],
    image_std: [...p.std],
    channel_order: p.channels,
    data_format: p.layout === 'nchw' ? 'channels_first' : 'channels_last',
  };
}

/**
 * Check an {@link ImagePreprocessing} read from a manifest (`where` names it): every field of the right type.
 */
export function imagePreprocessingFromJSON(json: unknown, where: string): ImagePreprocessing {
  const bad = (what: string): InputError => new InputError(`${where}: ${what}`);
  if (!json || typeof json !== 'object') throw bad('expected an image preprocessing object');
  const p = json as Partial<ImagePreprocessing> & Json;
  const int = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v > 0;
  const r = p.resize as Json | undefined;
  const resizeOk = !!r && (int(r['shortestEdge']) || (int(r['height']) && int(r['width']) && IMAGE_FITS.includes(r['fit'] as ImageFit)));
  if (!resizeOk) throw bad(`resize should be {"shortestEdge": N} or {"height": H, "width": W, "fit": ${IMAGE_FITS.join('|')}}, received ${JSON.stringify(p.resize)}`);
  if (!IMAGE_RESAMPLES.includes(p.resample as ImageResample)) throw bad(`resample should be one of ${IMAGE_RESAMPLES.join(', ')}, received ${JSON.stringify(p.resample)}`);
  if (p.crop !== undefined && !(int((p.crop as Json)['height']) && int((p.crop as Json)['width']))) throw bad(`crop should be {"height": H, "width": W}, received ${JSON.stringify(p.crop)}`);
  if (typeof p.rescale !== 'number' || !(p.rescale > 0)) throw bad(`rescale should be a positive number, received ${JSON.stringify(p.rescale)}`);
  const three = (v: unknown, positive: boolean): boolean => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!three(p.mean, false)) throw bad(`mean should be 3 numbers, received ${JSON.stringify(p.mean)}`);
  if (!three(p.std, true)) throw bad(`std should be 3 positive numbers, received ${JSON.stringify(p.std)}`);
  if (p.channels !== 'rgb' && p.channels !== 'bgr') throw bad(`channels should be "rgb" or "bgr", received ${JSON.stringify(p.channels)}`);
  if (p.layout !== 'nchw' && p.layout !== 'nhwc') throw bad(`layout should be "nchw" or "nhwc", received ${JSON.stringify(p.layout)}`);
  const out = applyOverrides(p as ImagePreprocessing, {});
  tensorSize(out);
  return out;
}

/** An image as decoded: `width x height` RGB bytes, row-major HWC. */
export interface RgbImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/** Decode `file` at its own size: EXIF orientation applied, alpha dropped, sRGB bytes. Rejects with sharp's error. */
export async function decodeRgb(file: string): Promise<RgbImage> {
  const { data, info } = await sharp(file, { failOn: 'warning' }).autoOrient().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** Resize and crop an image's bytes as `p` says (no normalisation): the bytes the model's tensor is made of. */
export function resizeAndCrop(img: RgbImage, p: ImagePreprocessing): RgbImage {
  if (p.resample === 'sharp') throw new Error('resizeAndCrop: the sharp resample is done by sharp while decoding');
  const filter = p.resample;
  let out: RgbImage;
  const r = p.resize;
  if ('shortestEdge' in r) {
    const short = Math.min(img.width, img.height);
    const long = Math.max(img.width, img.height);
    const newLong = Math.floor((r.shortestEdge * long) / short);
    const [w, h] = img.width <= img.height ? [r.shortestEdge, newLong] : [newLong, r.shortestEdge];
    out = { pixels: pilResize(img.pixels, img.width, img.height, w, h, filter), width: w, height: h };
  } else if (r.fit === 'fill') {
    out = { pixels: pilResize(img.pixels, img.width, img.height, r.width, r.height, filter), width: r.width, height: r.height };
  } else {
    const scale = r.fit === 'contain' ? Math.min(r.width / img.width, r.height / img.height) : Math.max(r.width / img.width, r.height / img.height);
    const w = Math.max(1, Math.round(img.width * scale));
    const h = Math.max(1, Math.round(img.height * scale));
    const scaled: RgbImage = { pixels: pilResize(img.pixels, img.width, img.height, w, h, filter), width: w, height: h };
    // cover crops the overflow, contain pads the rest with black: the same centred window either way
    out = centreCrop(scaled, r.height, r.width);
  }
  return p.crop ? centreCrop(out, p.crop.height, p.crop.width) : out;
}

/** The centre `height x width` of `img` (top = floor((h - height) / 2)); black where the crop is larger than the image. */
function centreCrop(img: RgbImage, height: number, width: number): RgbImage {
  if (img.width === width && img.height === height) return img;
  const top = Math.floor((img.height - height) / 2);
  const left = Math.floor((img.width - width) / 2);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < width; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * 3;
      const o = (y * width + x) * 3;
      out[o] = img.pixels[s] as number;
      out[o + 1] = img.pixels[s + 1] as number;
      out[o + 2] = img.pixels[s + 2] as number;
    }
  }
  return { pixels: out, width, height };
}

/**
 * Normalise resized bytes into `out` at `offset` (one image's tensor, `p.layout`): per model channel c,
 * (byte * rescale - mean[c]) / std[c], computed in float64 and stored as float32.
 */
export function normaliseInto(img: RgbImage, p: ImagePreprocessing, out: Float32Array, offset: number): void {
  const plane = img.width * img.height;
  const order = p.channels === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const src = order[c] as number;
    const mean = p.mean[c] as number;
    const std = p.std[c] as number;
    for (let i = 0; i < plane; i++) {
      const v = ((img.pixels[i * 3 + src] as number) * p.rescale - mean) / std;
      out[offset + (p.layout === 'nchw' ? c * plane + i : i * 3 + c)] = v;
    }
  }
}

/**
 * Decode `file` and turn it into the model's float32 tensor for one image (`tensorDims(p)` values).
 *
 * @example
 * const x = await preprocessImageFile('cat.jpg', { resize: { shortestEdge: 256 }, crop: { height: 224, width: 224 },
 *   resample: 'bilinear', rescale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 'rgb', layout: 'nchw' });
 * x.length; // 3 * 224 * 224
 */
export async function preprocessImageFile(file: string, p: ImagePreprocessing): Promise<Float32Array> {
  const { height, width } = tensorSize(p);
  const out = new Float32Array(3 * height * width);
  let img: RgbImage;
  if (p.resample === 'sharp') {
    if ('shortestEdge' in p.resize) throw new InputError('resample "sharp" needs an exact resize size (height x width)');
    const { data, info } = await sharp(file, { failOn: 'warning' })
      .autoOrient()
      .resize(p.resize.width, p.resize.height, { fit: p.resize.fit, background: { r: 0, g: 0, b: 0 } })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    img = { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
    if (p.crop) img = centreCrop(img, p.crop.height, p.crop.width);
  } else {
    img = resizeAndCrop(await decodeRgb(file), p);
  }
  if (img.width !== width || img.height !== height) throw new Error(`preprocessed to ${img.width}x${img.height}, expected ${width}x${height}`);
  normaliseInto(img, p, out, 0);
  return out;
}

/** A height and width in pixels. */
export interface PixelSize {
  readonly height: number;
  readonly width: number;
}

/** Flags that describe an image model's preprocessing (each overrides the config file's value). */
export interface ImageInputOptions {
  /** `--preprocess FILE`: a preprocessor_config.json or timm config (default: `preprocessor_config.json` beside the model). */
  readonly preprocess?: string;
  /** `--image-size`: N (a square, or the shortest edge when there is a crop) or H x W (exact). */
  readonly imageSize?: number | PixelSize;
  /** `--crop`: centre crop N (square) or H x W. */
  readonly crop?: number | PixelSize;
  readonly imageMean?: readonly number[];
  readonly imageStd?: readonly number[];
  /** `--input-size 3x48x192`: channels, height and width fed to a model whose input size is dynamic. */
  readonly inputSize?: readonly [number, number, number];
  readonly imageFit?: ImageFit;
  readonly resample?: ImageResample;
  readonly channels?: 'rgb' | 'bgr';
  readonly layout?: 'nchw' | 'nhwc';
}

/** The model input an image preprocessing is resolved for. */
export interface ImageModelInput {
  /** The model file, for messages and to find a config beside it. */
  readonly file: string;
  readonly name: string;
  /** Dimensions: numbers fixed, strings dynamic. */
  readonly shape: readonly (number | string)[];
}

/** The preprocessing chosen for a model, and the config file it came from (if any). */
export interface ResolvedImagePreprocessing {
  readonly preprocessing: ImagePreprocessing;
  readonly configFile?: string;
}

function flagOverrides(o: ImageInputOptions): ImagePreprocessingOverrides {
  const out: { -readonly [K in keyof ImagePreprocessingOverrides]: ImagePreprocessingOverrides[K] } = {};
  const square = (v: number | PixelSize): PixelSize => (typeof v === 'number' ? { height: v, width: v } : v);
  if (o.crop !== undefined) out.crop = square(o.crop);
  if (o.imageSize !== undefined) {
    if (typeof o.imageSize === 'number' && o.crop !== undefined) out.resize = { shortestEdge: o.imageSize };
    else out.resize = { ...square(o.imageSize), fit: o.imageFit ?? 'fill' };
  }
  if (o.imageFit !== undefined) out.fit = o.imageFit;
  if (o.resample !== undefined) out.resample = o.resample;
  if (o.imageMean !== undefined) out.mean = o.imageMean;
  if (o.imageStd !== undefined) out.std = o.imageStd;
  if (o.channels !== undefined) out.channels = o.channels;
  if (o.layout !== undefined) out.layout = o.layout;
  return out;
}

/** A config file beside the model: `preprocessor_config.json`, else a timm `config.json` holding `pretrained_cfg`. */
function configBeside(modelFile: string): string | undefined {
  const dir = dirname(modelFile);
  const hf = join(dir, 'preprocessor_config.json');
  if (existsSync(hf)) return hf;
  const timm = join(dir, 'config.json');
  if (!existsSync(timm)) return undefined;
  try {
    const json = JSON.parse(readFileSync(timm, 'utf8')) as unknown;
    return json && typeof json === 'object' && 'pretrained_cfg' in json ? timm : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The preprocessing of an image model: the model's input shape, overridden by its config file (`--preprocess`, or
 * `preprocessor_config.json` / a timm `config.json` beside the model), overridden by flags. With no config and no
 * preprocessing flag, fairhead's default ({@link defaultImagePreprocessing}) at the model's size.
 *
 * Errors (InputError, one line): an input that is not 3 channels in NCHW or NHWC; a dynamic height and width with
 * no size from a config, the flags (`--input-size`) or the model; a preprocessing whose tensor size differs from
 * the model's fixed size; `--input-size` contradicting the model.
 */
export function resolveImagePreprocessing(input: ImageModelInput, options: ImageInputOptions): ResolvedImagePreprocessing {
  const { file, name, shape } = input;
  const shown = `[${shape.join(', ')}]`;
  const configFile = options.preprocess ?? configBeside(file);
  const config = configFile !== undefined ? readPreprocessorConfig(configFile) : {};
  const flags = flagOverrides(options);
  if (shape.length !== 4 || !(shape[1] === 3 || shape[3] === 3 || (typeof shape[1] === 'string' && typeof shape[3] === 'string'))) {
    throw new InputError(`${file}: an image model needs a 3-channel input [N, 3, H, W] or [N, H, W, 3], the model's input "${name}" is ${shown}`);
  }
  const layout = flags.layout ?? config.layout ?? (shape[1] === 3 ? 'nchw' : shape[3] === 3 ? 'nhwc' : 'nchw');
  const [hDim, wDim] = layout === 'nchw' ? [shape[2], shape[3]] : [shape[1], shape[2]];
  const channelDim = layout === 'nchw' ? shape[1] : shape[3];
  if (typeof channelDim === 'number' && channelDim !== 3) {
    throw new InputError(`${file}: layout ${layout.toUpperCase()} puts ${channelDim} channels in the model's input "${name}" ${shown}; expected 3 (--layout nchw or nhwc)`);
  }
  let height = typeof hDim === 'number' ? hDim : undefined;
  let width = typeof wDim === 'number' ? wDim : undefined;
  if (options.inputSize) {
    const [c, h, w] = options.inputSize;
    if (c !== 3) throw new InputError(`--input-size ${options.inputSize.join('x')}: expected 3 channels (3xHxW)`);
    if ((height !== undefined && height !== h) || (width !== undefined && width !== w)) {
      throw new InputError(`--input-size ${options.inputSize.join('x')}: the model's input "${name}" is ${shown}, fixed at ${height ?? '?'}x${width ?? '?'}`);
    }
    height = h;
    width = w;
  }
  const describedBy = { ...config, ...flags };
  delete describedBy.layout;
  const configured = Object.keys(describedBy).length > 0;
  const noSize = (): InputError =>
    new InputError(
      `${file}: model input "${name}" ${shown} has a dynamic height and width, and no size comes from ${configFile ?? 'a preprocessor_config.json beside the model'}, --preprocess or the flags; expected e.g. --input-size 3x224x224 (or --image-size and --crop)`,
    );
  let base: ImagePreprocessing;
  if (height !== undefined && width !== undefined) base = { ...defaultImagePreprocessing(height, width), layout };
  else if (configured && (config.resize ?? flags.resize)) base = { ...defaultImagePreprocessing(1, 1), layout };
  else throw noSize();
  let p = applyOverrides(applyOverrides(base, config), flags);
  // a resize described by flags alone uses torchvision's default filter
  if (flags.resize && p.resample === 'sharp' && flags.resample === undefined && config.resample === undefined) p = { ...p, resample: 'bilinear' };
  if ('shortestEdge' in p.resize && !p.crop) {
    throw new InputError(`${configFile ?? file}: a resize of the shortest edge (${p.resize.shortestEdge}) needs a centre crop so that every image has one size; expected a crop_size or --crop`);
  }
  if (p.resample === 'sharp' && 'shortestEdge' in p.resize) {
    throw new InputError(`${file}: resample "sharp" needs an exact size (--image-size HxW); choose --resample bilinear or bicubic for a shortest-edge resize`);
  }
  const size = tensorSize(p);
  if ((height !== undefined && size.height !== height) || (width !== undefined && size.width !== width)) {
    throw new InputError(
      `${configFile ?? file}: the preprocessing makes ${size.height}x${size.width} images, the model's input "${name}" ${shown} takes ${height ?? '?'}x${width ?? '?'}; expected a size (and crop) giving ${height ?? '?'}x${width ?? '?'}`,
    );
  }
  return { preprocessing: p, ...(configFile !== undefined ? { configFile } : {}) };
}
