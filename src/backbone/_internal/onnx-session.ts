/**
 * Creating an onnxruntime-node session from model bytes, turning its load failures into one-line InputErrors.
 */
import * as ort from 'onnxruntime-node';
import { InputError } from '../../errors.ts';

/** Threading of a session: `threads` intra-op threads (default: onnxruntime's choice, one per core). */
export interface SessionSettings {
  readonly threads?: number | undefined;
  /** Folder holding the model's external data files (a model loaded from bytes has no folder of its own). */
  readonly externalDataFolder?: string | undefined;
}

/**
 * An onnxruntime-node session over `bytes`, sequential execution. A model newer than this onnxruntime (IR version
 * or opset) or one it rejects gives an InputError naming `file` and what is supported.
 */
export async function createSession(bytes: Uint8Array, file: string, settings: SessionSettings = {}): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { executionMode: 'sequential', interOpNumThreads: 1, logSeverityLevel: 3 };
  if (settings.threads !== undefined) options.intraOpNumThreads = settings.threads;
  if (settings.externalDataFolder !== undefined) options.extra = { session: { model_external_initializers_file_folder_path: settings.externalDataFolder } };
  try {
    return await ort.InferenceSession.create(bytes, options);
  } catch (error) {
    throw new InputError(explainLoadError(String((error as Error).message ?? error), file));
  }
}

/** A one-line message for an onnxruntime load failure `message` of `file`. */
export function explainLoadError(message: string, file: string): string {
  const ir = /Unsupported model IR version: (\d+), max supported IR version: (\d+)/.exec(message);
  if (ir) {
    return `${file}: model IR version ${ir[1]} is newer than onnxruntime-node ${ort.env.versions.common} supports; expected IR version <= ${ir[2]} (re-export with an older ONNX)`;
  }
  const opset = /Opset (\d+) is under development[\s\S]*?domain (\S+) is till opset (\d+)/.exec(message);
  if (opset) {
    return `${file}: model uses opset ${opset[1]} of ${opset[2]}, newer than onnxruntime-node ${ort.env.versions.common} supports; expected opset <= ${opset[3]} (re-export with an older opset)`;
  }
  // onnxruntime prefixes its messages with a source location ("/onnxruntime_src/...cc:202 fn(...) text").
  const text = message.replace(/\s+/g, ' ').trim();
  const cleaned = text.replace(/^\S+\.(?:cc|h|cpp):\d+ .*?\) /, '').replace(/^\[ONNXRuntimeError\] : \d+ : \w+ : /, '');
  return `${file}: onnxruntime-node cannot load the model: ${cleaned}; expected a valid ONNX model`;
}

export { ort };
