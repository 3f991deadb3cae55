/**
 * The result shapes of supervisord's methods, and validators that turn a decoded `XmlRpcValue` into
 * them or throw `ShapeError`. Hand-written (no schema library) because getAllProcessInfo is on the
 * triggerer's hot path.
 */
import {
  PROCESS_STATE_NAMES,
  SupervisorState,
  type ProcessInfo,
  type SupervisorStateName,
} from '../states.js';
import type { XmlRpcValue } from './decode.js';

/** A result does not have the shape its method promises. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** `getState`. */
export interface SupervisordStateInfo {
  statecode: number;
  statename: SupervisorStateName;
}

/** One entry of the results of the group/all start, stop, signal and clear calls. */
export interface ProcessStatus {
  name: string;
  group: string;
  /** A fault code; 80 (SUCCESS) when it worked. */
  status: number;
  description: string;
}

/** `tailProcessStdoutLog` / `tailProcessStderrLog`. */
export interface LogTail {
  text: string;
  /** The byte offset to pass next time to read on from here. */
  offset: number;
  /** More than `length` bytes were written since the given offset. */
  overflow: boolean;
}

/** `reloadConfig`: group names whose configuration was added, changed or removed. */
export interface ConfigChanges {
  added: string[];
  changed: string[];
  removed: string[];
}

/** One entry of `getAllConfigInfo`; supervisord adds more fields than the few named here. */
export interface ProgramConfigInfo {
  name: string;
  group: string;
  command: string;
  autostart: boolean;
  /** The program is part of the running configuration. */
  inuse: boolean;
  [field: string]: XmlRpcValue;
}

type Struct = { [member: string]: XmlRpcValue };

export function asStruct(value: XmlRpcValue, what: string): Struct {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new ShapeError(`${what}: expected a struct, got ${describe(value)}`);
  }
  return value as Struct;
}

export function asArray(value: XmlRpcValue, what: string): XmlRpcValue[] {
  if (!Array.isArray(value)) throw new ShapeError(`${what}: expected an array, got ${describe(value)}`);
  return value;
}

export function asString(value: XmlRpcValue | undefined, what: string): string {
  if (typeof value !== 'string') throw new ShapeError(`${what}: expected a string, got ${describe(value)}`);
  return value;
}

export function asInt(value: XmlRpcValue | undefined, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ShapeError(`${what}: expected an int, got ${describe(value)}`);
  }
  return value;
}

export function asBoolean(value: XmlRpcValue | undefined, what: string): boolean {
  if (typeof value !== 'boolean') throw new ShapeError(`${what}: expected a boolean, got ${describe(value)}`);
  return value;
}

export function asStringArray(value: XmlRpcValue, what: string): string[] {
  return asArray(value, what).map((item, i) => asString(item, `${what}[${i}]`));
}

const STATE_NAMES = new Set<string>(PROCESS_STATE_NAMES);

export function toProcessInfo(value: XmlRpcValue, what = 'process info'): ProcessInfo {
  const s = asStruct(value, what);
  const statename = asString(s.statename, `${what}.statename`);
  if (!STATE_NAMES.has(statename)) throw new ShapeError(`${what}.statename: unknown state ${statename}`);
  return {
    name: asString(s.name, `${what}.name`),
    group: asString(s.group, `${what}.group`),
    description: asString(s.description, `${what}.description`),
    start: asInt(s.start, `${what}.start`),
    stop: asInt(s.stop, `${what}.stop`),
    now: asInt(s.now, `${what}.now`),
    state: asInt(s.state, `${what}.state`),
    statename: statename as ProcessInfo['statename'],
    spawnerr: asString(s.spawnerr, `${what}.spawnerr`),
    exitstatus: asInt(s.exitstatus, `${what}.exitstatus`),
    logfile: asString(s.logfile, `${what}.logfile`),
    stdout_logfile: asString(s.stdout_logfile, `${what}.stdout_logfile`),
    stderr_logfile: asString(s.stderr_logfile, `${what}.stderr_logfile`),
    pid: asInt(s.pid, `${what}.pid`),
  };
}

export function toProcessInfoList(value: XmlRpcValue): ProcessInfo[] {
  return asArray(value, 'process info list').map((item, i) => toProcessInfo(item, `process info [${i}]`));
}

const SUPERVISOR_STATE_NAMES = new Set<string>(Object.keys(SupervisorState));

export function toSupervisordState(value: XmlRpcValue): SupervisordStateInfo {
  const s = asStruct(value, 'state');
  const statename = asString(s.statename, 'state.statename');
  if (!SUPERVISOR_STATE_NAMES.has(statename))
    throw new ShapeError(`state.statename: unknown state ${statename}`);
  return { statecode: asInt(s.statecode, 'state.statecode'), statename: statename as SupervisorStateName };
}

export function toProcessStatusList(value: XmlRpcValue): ProcessStatus[] {
  return asArray(value, 'status list').map((item, i) => {
    const s = asStruct(item, `status [${i}]`);
    return {
      name: asString(s.name, `status [${i}].name`),
      group: asString(s.group, `status [${i}].group`),
      status: asInt(s.status, `status [${i}].status`),
      description: asString(s.description, `status [${i}].description`),
    };
  });
}

export function toLogTail(value: XmlRpcValue): LogTail {
  const [text, offset, overflow] = asArray(value, 'tail');
  return {
    text: asString(text, 'tail[0] (text)'),
    offset: asInt(offset, 'tail[1] (offset)'),
    overflow: asBoolean(overflow, 'tail[2] (overflow)'),
  };
}

export function toConfigChanges(value: XmlRpcValue): ConfigChanges {
  const [inner] = asArray(value, 'reloadConfig');
  if (inner === undefined) throw new ShapeError('reloadConfig: empty result');
  const [added, changed, removed] = asArray(inner, 'reloadConfig[0]');
  return {
    added: asStringArray(added ?? null, 'reloadConfig added'),
    changed: asStringArray(changed ?? null, 'reloadConfig changed'),
    removed: asStringArray(removed ?? null, 'reloadConfig removed'),
  };
}

export function toConfigInfoList(value: XmlRpcValue): ProgramConfigInfo[] {
  return asArray(value, 'config info list').map((item, i) => {
    const s = asStruct(item, `config info [${i}]`);
    asString(s.name, `config info [${i}].name`);
    asString(s.group, `config info [${i}].group`);
    asString(s.command, `config info [${i}].command`);
    asBoolean(s.autostart, `config info [${i}].autostart`);
    asBoolean(s.inuse, `config info [${i}].inuse`);
    return s as ProgramConfigInfo;
  });
}

export function toTrue(value: XmlRpcValue, what: string): true {
  if (value !== true) throw new ShapeError(`${what}: expected true, got ${describe(value)}`);
  return true;
}

function describe(value: XmlRpcValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'nil';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'base64';
  if (typeof value === 'object') return 'a struct';
  return `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}
