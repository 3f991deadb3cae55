/**
 * The `xmlrpc` package's own parser (sax based), driven synchronously so its CPU cost can be compared
 * with ours, and so tests can check that both decode a response to the same value.
 */
import { createRequire } from 'node:module';

interface SaxStream {
  write(chunk: string): void;
  end(): void;
}
interface FakeStream {
  setEncoding(encoding: string): void;
  on(event: string, listener: unknown): void;
  pipe(destination: SaxStream): void;
}
type Callback = (error: unknown, ...values: unknown[]) => void;
interface Deserializer {
  deserializeMethodResponse(stream: FakeStream, callback: Callback): void;
  deserializeMethodCall(stream: FakeStream, callback: Callback): void;
}

const require = createRequire(import.meta.url);
const DeserializerClass = require('xmlrpc/lib/deserializer.js') as new () => Deserializer;

/** The package's serializer, to write test documents. */
export const genericSerializer = require('xmlrpc/lib/serializer.js') as {
  serializeMethodResponse(value: unknown): string;
  serializeFault(fault: { faultCode: number; faultString: string }): string;
};

/** A stand-in for the HTTP response stream that hands the whole text to the parser at once. */
function wholeText(xml: string): FakeStream {
  return {
    setEncoding() {},
    on() {},
    pipe(destination) {
      destination.write(xml);
      destination.end();
    },
  };
}

/** Decodes a methodResponse with the generic parser; a fault comes back as `{ faultCode, faultString }`. */
export function genericDecode(xml: string): unknown {
  let outcome: { value: unknown } | { error: unknown } | undefined;
  new DeserializerClass().deserializeMethodResponse(wholeText(xml), (error, value) => {
    if (outcome) return;
    if (error && typeof error === 'object' && 'faultCode' in error) {
      const fault = error as { faultCode: unknown; faultString: unknown };
      outcome = { value: { faultCode: fault.faultCode, faultString: fault.faultString } };
    } else outcome = error ? { error } : { value };
  });
  if (!outcome) throw new Error('the generic parser did not finish synchronously');
  if ('error' in outcome) throw outcome.error;
  return outcome.value;
}

/** Decodes a methodCall with the generic parser into `[method, params]`. */
export function genericDecodeCall(xml: string): [string, unknown[]] {
  let outcome: [string, unknown[]] | undefined;
  let failure: unknown;
  new DeserializerClass().deserializeMethodCall(wholeText(xml), (error, method, params) => {
    if (error) failure = error;
    else outcome = [method as string, params as unknown[]];
  });
  if (failure !== undefined) throw failure;
  if (!outcome) throw new Error('the generic parser did not finish synchronously');
  return outcome;
}
