/**
 * Typed XML-RPC client for one supervisord: every `supervisor.*` and `system.*` method with validated
 * results, plus `applyConfigChanges` (what `supervisorctl update` does). Process names accept
 * `name`, `group:name` and `group:*`.
 */
import type { Readable } from 'node:stream';
import type { SupervisorEndpoint } from './endpoint.js';
import { InvalidArgument, ProtocolError, faultFor, type SupervisorFault } from './errors.js';
import type { ProcessInfo } from './states.js';
import type { XmlRpcValue } from './xmlrpc/decode.js';
import type { XmlRpcParam } from './xmlrpc/encode.js';
import {
  ShapeError,
  asArray,
  asInt,
  asString,
  asStringArray,
  toConfigChanges,
  toConfigInfoList,
  toLogTail,
  toProcessInfo,
  toProcessInfoList,
  toProcessStatusList,
  toSupervisordState,
  toTrue,
  type ConfigChanges,
  type LogTail,
  type ProcessStatus,
  type ProgramConfigInfo,
  type SupervisordStateInfo,
} from './xmlrpc/shapes.js';
import { XmlRpcTransport, type CallOptions, type TransportOptions } from './xmlrpc/transport.js';

export type {
  ConfigChanges,
  LogTail,
  ProcessStatus,
  ProgramConfigInfo,
  SupervisordStateInfo,
  XmlRpcParam,
  XmlRpcValue,
};

/** Options of {@link SupervisorClient}. */
export type SupervisorClientOptions = TransportOptions;

/** Options of the calls that may wait on supervisord (start/stop with `wait`, applyConfigChanges). */
export interface WaitOptions {
  /** Timeout of this call, for programs with long `startsecs`/`stopwaitsecs`. @default endpoint.timeoutMs */
  timeoutMs?: number;
}

/** One call inside `system.multicall`. */
export interface MulticallRequest {
  methodName: string;
  params?: readonly XmlRpcParam[];
}

/** The outcome of one call inside `system.multicall`: its value, or its fault. */
export type MulticallResult = { ok: true; value: XmlRpcValue } | { ok: false; error: SupervisorFault };

const READ_ONLY: CallOptions = { readOnly: true };

/** A client of one supervisord's XML-RPC interface. Call `close()` to release its sockets. */
export class SupervisorClient {
  private readonly transport: XmlRpcTransport;

  constructor(
    readonly endpoint: SupervisorEndpoint,
    options: SupervisorClientOptions = {},
  ) {
    this.transport = new XmlRpcTransport(endpoint, options);
  }

  /** The endpoint URL, safe to log. */
  get url(): string {
    return this.transport.url;
  }

  /** Releases the client's sockets; calls in flight fail. */
  close(): void {
    this.transport.close();
  }

  // ---- supervisord itself ----

  /** The XML-RPC API version, e.g. `3.0`. */
  async getAPIVersion(): Promise<string> {
    return this.call('supervisor.getAPIVersion', [], (v) => asString(v, 'getAPIVersion'), READ_ONLY);
  }

  /** The supervisord package version, e.g. `4.2.5`. */
  async getSupervisorVersion(): Promise<string> {
    return this.call(
      'supervisor.getSupervisorVersion',
      [],
      (v) => asString(v, 'getSupervisorVersion'),
      READ_ONLY,
    );
  }

  /** The `identifier` from the `[supervisord]` section. */
  async getIdentification(): Promise<string> {
    return this.call('supervisor.getIdentification', [], (v) => asString(v, 'getIdentification'), READ_ONLY);
  }

  /** supervisord's own state: RUNNING, RESTARTING, SHUTDOWN or FATAL. */
  async getState(): Promise<SupervisordStateInfo> {
    return this.call('supervisor.getState', [], toSupervisordState, READ_ONLY);
  }

  /** supervisord's pid. */
  async getPID(): Promise<number> {
    return this.call('supervisor.getPID', [], (v) => asInt(v, 'getPID'), READ_ONLY);
  }

  /** `length` bytes of the main log from byte `offset` (a negative offset counts from the end, length 0). */
  async readLog(offset: number, length: number): Promise<string> {
    return this.call('supervisor.readLog', [int(this, offset, 'offset'), int(this, length, 'length')], (v) =>
      asString(v, 'readLog'),
    );
  }

  /** Empties the main log. */
  async clearLog(): Promise<true> {
    return this.call('supervisor.clearLog', [], (v) => toTrue(v, 'clearLog'));
  }

  /** Asks supervisord to shut down (it answers first, then stops its programs and exits). */
  async shutdown(): Promise<true> {
    return this.call('supervisor.shutdown', [], (v) => toTrue(v, 'shutdown'));
  }

  /** Asks supervisord to restart: re-read its config and restart every program. */
  async restart(): Promise<true> {
    return this.call('supervisor.restart', [], (v) => toTrue(v, 'restart'));
  }

  /** Re-reads the config file and reports the changed groups; changes nothing else. */
  async reloadConfig(): Promise<ConfigChanges> {
    return this.call('supervisor.reloadConfig', [], toConfigChanges);
  }

  /** Activates a group present in the re-read config. Faults ALREADY_ADDED or BAD_NAME. */
  async addProcessGroup(name: string): Promise<true> {
    return this.call('supervisor.addProcessGroup', [checkName(this, name)], (v) =>
      toTrue(v, 'addProcessGroup'),
    );
  }

  /** Removes a stopped group from the running config. Faults STILL_RUNNING or BAD_NAME. */
  async removeProcessGroup(name: string): Promise<true> {
    return this.call('supervisor.removeProcessGroup', [checkName(this, name)], (v) =>
      toTrue(v, 'removeProcessGroup'),
    );
  }

  /**
   * reloadConfig, then applies it the way `supervisorctl update` does: stop and remove removed groups,
   * stop, remove and re-add changed ones, add new ones.
   */
  async applyConfigChanges(options: WaitOptions = {}): Promise<ConfigChanges> {
    const changes = await this.reloadConfig();
    for (const group of [...changes.removed, ...changes.changed]) {
      await this.stopProcessGroup(group, true, options);
      await this.removeProcessGroup(group);
    }
    for (const group of [...changes.changed, ...changes.added]) await this.addProcessGroup(group);
    return changes;
  }

  // ---- processes ----

  /** Every process, in supervisord's order. */
  async getAllProcessInfo(): Promise<ProcessInfo[]> {
    return this.call('supervisor.getAllProcessInfo', [], toProcessInfoList, READ_ONLY);
  }

  /** One process (`name` or `group:name`). */
  async getProcessInfo(name: string): Promise<ProcessInfo> {
    return this.call(
      'supervisor.getProcessInfo',
      [checkName(this, name)],
      (v) => toProcessInfo(v),
      READ_ONLY,
    );
  }

  /** Every program's configuration. */
  async getAllConfigInfo(): Promise<ProgramConfigInfo[]> {
    return this.call('supervisor.getAllConfigInfo', [], toConfigInfoList, READ_ONLY);
  }

  /**
   * Starts a process; with `wait` resolves once it has been RUNNING for `startsecs`. For `group:*`
   * supervisord starts the group and answers with one status per process.
   */
  async startProcess(name: string, wait = true, options: WaitOptions = {}): Promise<true | ProcessStatus[]> {
    return this.call(
      'supervisor.startProcess',
      [checkName(this, name), wait],
      (v) => toTrueOrStatusList(v, 'startProcess'),
      options,
    );
  }

  /** Starts every process of a group. */
  async startProcessGroup(name: string, wait = true, options: WaitOptions = {}): Promise<ProcessStatus[]> {
    return this.call(
      'supervisor.startProcessGroup',
      [checkName(this, name), wait],
      toProcessStatusList,
      options,
    );
  }

  /** Starts every process. */
  async startAllProcesses(wait = true, options: WaitOptions = {}): Promise<ProcessStatus[]> {
    return this.call('supervisor.startAllProcesses', [wait], toProcessStatusList, options);
  }

  /** Stops a process; with `wait` resolves once it is stopped. Faults NOT_RUNNING if it was not. */
  async stopProcess(name: string, wait = true, options: WaitOptions = {}): Promise<true | ProcessStatus[]> {
    return this.call(
      'supervisor.stopProcess',
      [checkName(this, name), wait],
      (v) => toTrueOrStatusList(v, 'stopProcess'),
      options,
    );
  }

  /** Stops every running process of a group. */
  async stopProcessGroup(name: string, wait = true, options: WaitOptions = {}): Promise<ProcessStatus[]> {
    return this.call(
      'supervisor.stopProcessGroup',
      [checkName(this, name), wait],
      toProcessStatusList,
      options,
    );
  }

  /** Stops every running process. */
  async stopAllProcesses(wait = true, options: WaitOptions = {}): Promise<ProcessStatus[]> {
    return this.call('supervisor.stopAllProcesses', [wait], toProcessStatusList, options);
  }

  /** Sends a signal (`'HUP'`, `'USR1'`, or a number) to a process. */
  async signalProcess(name: string, signal: string | number): Promise<true | ProcessStatus[]> {
    return this.call('supervisor.signalProcess', [checkName(this, name), checkSignal(this, signal)], (v) =>
      toTrue(v, 'signalProcess'),
    );
  }

  /** Sends a signal to every process of a group. */
  async signalProcessGroup(name: string, signal: string | number): Promise<ProcessStatus[]> {
    return this.call(
      'supervisor.signalProcessGroup',
      [checkName(this, name), checkSignal(this, signal)],
      toProcessStatusList,
    );
  }

  /** Sends a signal to every process. */
  async signalAllProcesses(signal: string | number): Promise<ProcessStatus[]> {
    return this.call('supervisor.signalAllProcesses', [checkSignal(this, signal)], toProcessStatusList);
  }

  /** Writes `chars` to a running process's stdin. */
  async sendProcessStdin(name: string, chars: string): Promise<true> {
    return this.call('supervisor.sendProcessStdin', [checkName(this, name), chars], (v) =>
      toTrue(v, 'sendProcessStdin'),
    );
  }

  /** Emits a REMOTE_COMMUNICATION event to event listeners. */
  async sendRemoteCommEvent(type: string, data: string): Promise<true> {
    return this.call('supervisor.sendRemoteCommEvent', [type, data], (v) => toTrue(v, 'sendRemoteCommEvent'));
  }

  // ---- process logs ----

  /** `length` bytes of a process's stdout log from byte `offset`. */
  async readProcessStdoutLog(name: string, offset: number, length: number): Promise<string> {
    return this.readProcessLog('supervisor.readProcessStdoutLog', name, offset, length);
  }

  /** `length` bytes of a process's stderr log from byte `offset`. */
  async readProcessStderrLog(name: string, offset: number, length: number): Promise<string> {
    return this.readProcessLog('supervisor.readProcessStderrLog', name, offset, length);
  }

  /** Up to `length` bytes of the end of a process's stdout log at or after `offset`. */
  async tailProcessStdoutLog(name: string, offset: number, length: number): Promise<LogTail> {
    return this.tailProcessLog('supervisor.tailProcessStdoutLog', name, offset, length);
  }

  /** Up to `length` bytes of the end of a process's stderr log at or after `offset`. */
  async tailProcessStderrLog(name: string, offset: number, length: number): Promise<LogTail> {
    return this.tailProcessLog('supervisor.tailProcessStderrLog', name, offset, length);
  }

  /**
   * Follows a process's log as supervisord's `GET /logtail/<name>/<channel>` serves it: about the
   * last kilobyte first, then whatever is written, until the caller destroys the stream. Rejects
   * like a call (HTTP 404: no such process or no log).
   */
  async followProcessLog(name: string, channel: 'stdout' | 'stderr'): Promise<Readable> {
    return this.transport.stream(`/logtail/${encodeURIComponent(checkName(this, name))}/${channel}`);
  }

  /** Empties a process's stdout and stderr logs. */
  async clearProcessLogs(name: string): Promise<true> {
    return this.call('supervisor.clearProcessLogs', [checkName(this, name)], (v) =>
      toTrue(v, 'clearProcessLogs'),
    );
  }

  /** Empties every process's logs. */
  async clearAllProcessLogs(): Promise<ProcessStatus[]> {
    return this.call('supervisor.clearAllProcessLogs', [], toProcessStatusList);
  }

  // ---- system ----

  /** Every method name the server offers. */
  async listMethods(): Promise<string[]> {
    return this.call('system.listMethods', [], (v) => asStringArray(v, 'listMethods'), READ_ONLY);
  }

  /** A method's documentation. */
  async methodHelp(method: string): Promise<string> {
    return this.call('system.methodHelp', [method], (v) => asString(v, 'methodHelp'), READ_ONLY);
  }

  /** A method's signature: the return type, then the parameter types. */
  async methodSignature(method: string): Promise<string[]> {
    return this.call(
      'system.methodSignature',
      [method],
      (v) => asStringArray(v, 'methodSignature'),
      READ_ONLY,
    );
  }

  /**
   * Runs `calls` in one request (supervisord runs them one after another). Each result is the call's
   * value or its fault; the request as a whole fails only on transport or protocol errors.
   */
  async multicall(calls: readonly MulticallRequest[], options: WaitOptions = {}): Promise<MulticallResult[]> {
    const encoded = calls.map((c) => ({ methodName: c.methodName, params: c.params ?? [] }));
    return this.call(
      'system.multicall',
      [encoded],
      (value) => {
        const results = asArray(value, 'multicall');
        if (results.length !== calls.length) {
          throw new ShapeError(`multicall: ${calls.length} calls but ${results.length} results`);
        }
        return results.map((result, i): MulticallResult => {
          const method = calls[i]?.methodName ?? 'unknown';
          // supervisord answers each call with its bare value (not wrapped in a one-item array as the
          // spec says), or a fault struct.
          if (!isFaultStruct(result)) return { ok: true, value: result };
          const code = asInt(result.faultCode, `multicall [${i}].faultCode`);
          const text = asString(result.faultString, `multicall [${i}].faultString`);
          return { ok: false, error: faultFor(code, text, this.url, method) };
        });
      },
      options,
    );
  }

  private async readProcessLog(
    method: string,
    name: string,
    offset: number,
    length: number,
  ): Promise<string> {
    const params = [checkName(this, name), int(this, offset, 'offset'), int(this, length, 'length')];
    return this.call(method, params, (v) => asString(v, method), READ_ONLY);
  }

  private async tailProcessLog(
    method: string,
    name: string,
    offset: number,
    length: number,
  ): Promise<LogTail> {
    const params = [checkName(this, name), int(this, offset, 'offset'), int(this, length, 'length')];
    return this.call(method, params, toLogTail, READ_ONLY);
  }

  private async call<T>(
    method: string,
    params: readonly XmlRpcParam[],
    convert: (value: XmlRpcValue) => T,
    options: CallOptions = {},
  ): Promise<T> {
    const value = await this.transport.call(method, params, options);
    try {
      return convert(value);
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      throw new ProtocolError(`${method} at ${this.url}: unexpected result: ${error.message}`, this.url, {
        cause: error,
      });
    }
  }
}

function toTrueOrStatusList(value: XmlRpcValue, what: string): true | ProcessStatus[] {
  return Array.isArray(value) ? toProcessStatusList(value) : toTrue(value, what);
}

function isFaultStruct(value: XmlRpcValue): value is { faultCode: XmlRpcValue; faultString: XmlRpcValue } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value))
    return false;
  const keys = Object.keys(value);
  return keys.length === 2 && 'faultCode' in value && 'faultString' in value;
}

function checkName(client: SupervisorClient, name: string): string {
  if (typeof name !== 'string' || name.length === 0 || /[\s\p{Cc}]/u.test(name)) {
    throw new InvalidArgument(
      `process name must be a non-empty string without spaces, got ${JSON.stringify(name)}`,
      client.url,
    );
  }
  return name;
}

function checkSignal(client: SupervisorClient, signal: string | number): string {
  const text = String(signal);
  if (!/^(SIG)?[A-Z0-9]+$/i.test(text)) {
    throw new InvalidArgument(
      `signal must be a name like HUP or a number, got ${JSON.stringify(signal)}`,
      client.url,
    );
  }
  return text;
}

function int(client: SupervisorClient, value: number, what: string): number {
  if (!Number.isSafeInteger(value)) {
    throw new InvalidArgument(`${what} must be an integer, got ${String(value)}`, client.url);
  }
  return value;
}
