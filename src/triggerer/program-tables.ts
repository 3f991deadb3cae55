/**
 * What this triggerer last saw of each supervisord endpoint: whether its last poll answered, when,
 * how long it took, the process table it returned, and the restarts it has seen of each program (a
 * program whose start time changed between two polls started again). supervisord keeps no restart
 * count, so this is a count of what this process observed, since it first polled the endpoint. Fed
 * by the shared polls of the watchers and by the status page's own polls of idle endpoints.
 */
import type { ProcessInfo, ProcessStateName } from '../supervisor/states.js';

/** One program as the status view shows it. */
export interface ProgramRow {
  /** `group:name`, or `name` when the group is the program's own. */
  name: string;
  state: ProcessStateName;
  pid: number;
  /** Seconds it has been running (server clock), when RUNNING. */
  uptimeS?: number;
  /** When it last started or stopped, whichever is later (unix s, server clock); 0 if never. */
  since: number;
  exitstatus: number;
  /** supervisord's last spawn error, if any. */
  spawnerr?: string;
  /** Restarts this triggerer saw (start time changed between two polls). */
  restarts: number;
}

/** One endpoint as the status view shows it. */
export interface EndpointRow {
  name: string;
  /** The last poll answered. */
  reachable: boolean;
  /** When the last poll finished (unix ms). */
  lastPollAt: number;
  lastPollMs: number;
  /** Why the last poll failed (one line, bounded). */
  error?: string;
  /** The process table of the last poll that answered (at most `maxPrograms`). */
  programs: ProgramRow[];
  /** Programs left out past `maxPrograms`. */
  morePrograms: number;
  /** When the table was taken (unix ms), 0 before the first answer. */
  programsAt: number;
}

/** Options for {@link ProgramTables}. */
export interface ProgramTablesOptions {
  /** Programs kept per endpoint. @default 500 */
  maxPrograms?: number;
  /** Endpoints not polled for this long are forgotten. @default 3600000 (1 h) */
  forgetAfterMs?: number;
  /** Clock in unix ms. @default Date.now */
  now?: () => number;
}

/** How a poll ended, as {@link ProgramTables.observe} takes it. */
export type PollSight = { infos: readonly ProcessInfo[] } | { error: unknown };

interface Sighting {
  row: EndpointRow;
  /** Each program's last start time, to count restarts. */
  starts: Map<string, number>;
  restarts: Map<string, number>;
}

const ERROR_CHARS = 300;

/** The last process table and reachability of each endpoint this triggerer polled. */
export class ProgramTables {
  private readonly seen = new Map<string, Sighting>();
  private readonly maxPrograms: number;
  private readonly forgetAfterMs: number;
  private readonly now: () => number;

  constructor(options: ProgramTablesOptions = {}) {
    this.maxPrograms = options.maxPrograms ?? 500;
    this.forgetAfterMs = options.forgetAfterMs ?? 3_600_000;
    this.now = options.now ?? Date.now;
  }

  /** One finished poll of `endpoint`. */
  observe(endpoint: string, sight: PollSight, durationMs: number): void {
    const at = this.now();
    let sighting = this.seen.get(endpoint);
    if (sighting === undefined) {
      sighting = {
        row: {
          name: endpoint,
          reachable: false,
          lastPollAt: 0,
          lastPollMs: 0,
          programs: [],
          morePrograms: 0,
          programsAt: 0,
        },
        starts: new Map(),
        restarts: new Map(),
      };
      this.seen.set(endpoint, sighting);
    }
    const row = sighting.row;
    row.lastPollAt = at;
    row.lastPollMs = Math.round(durationMs);
    if ('error' in sight) {
      row.reachable = false;
      row.error = oneLine(sight.error);
      return;
    }
    row.reachable = true;
    delete row.error;
    row.programs = sight.infos.slice(0, this.maxPrograms).map((info) => this.rowOf(sighting, info));
    row.morePrograms = Math.max(0, sight.infos.length - this.maxPrograms);
    row.programsAt = at;
    // Programs removed from the config are forgotten with their counts.
    if (sighting.starts.size > row.programs.length) {
      const names = new Set(row.programs.map((p) => p.name));
      for (const name of sighting.starts.keys()) {
        if (!names.has(name)) {
          sighting.starts.delete(name);
          sighting.restarts.delete(name);
        }
      }
    }
  }

  /** When `endpoint` was last polled (unix ms), 0 if never. */
  lastPollAt(endpoint: string): number {
    return this.seen.get(endpoint)?.row.lastPollAt ?? 0;
  }

  /** Every endpoint polled within `forgetAfterMs`, by name (copies). */
  rows(): EndpointRow[] {
    const oldest = this.now() - this.forgetAfterMs;
    for (const [name, sighting] of this.seen) if (sighting.row.lastPollAt < oldest) this.seen.delete(name);
    return [...this.seen.values()]
      .map((s) => ({ ...s.row, programs: s.row.programs.map((p) => ({ ...p })) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private rowOf(sighting: Sighting, info: ProcessInfo): ProgramRow {
    const name = info.group === info.name ? info.name : `${info.group}:${info.name}`;
    const previous = sighting.starts.get(name);
    if (previous !== undefined && info.start !== 0 && info.start !== previous) {
      sighting.restarts.set(name, (sighting.restarts.get(name) ?? 0) + 1);
    }
    sighting.starts.set(name, info.start);
    const running = info.statename === 'RUNNING';
    return {
      name,
      state: info.statename,
      pid: info.pid,
      ...(running && info.start > 0 && { uptimeS: Math.max(0, info.now - info.start) }),
      since: Math.max(info.start, info.stop),
      exitstatus: info.exitstatus,
      ...(info.spawnerr && { spawnerr: info.spawnerr.slice(0, ERROR_CHARS) }),
      restarts: sighting.restarts.get(name) ?? 0,
    };
  }
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const line = text.split('\n')[0] ?? '';
  return line.length <= ERROR_CHARS ? line : `${line.slice(0, ERROR_CHARS)}…`;
}
