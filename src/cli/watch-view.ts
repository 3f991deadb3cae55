/**
 * One frame of `status --watch` as lines of text: the triggerers and workers with their health and
 * load, trigger jobs per state and the newest triggers, and each job's run with its programs. Fits
 * the terminal: every line is cut at its width and the trigger list takes the rows left. Pure, so a
 * frame is the same whether it goes to a terminal (coloured) or a pipe (plain).
 */
import { TRIGGER_STATES } from '../client/index.js';
import type { TriggererInfo } from '../redis/heartbeat.js';
import { ago, clip, duration, relative, table } from './format.js';
import type { WatchSnapshot } from './watch-snapshot.js';

/** How a frame is laid out. */
export interface FrameOptions {
  /** Characters per line. */
  columns: number;
  /** Lines in all (Infinity: as many as the data needs, for a pipe). */
  rows: number;
  /** ANSI colours for states. */
  color: boolean;
  /** The Redis read, as it may be shown. */
  where: string;
  intervalMs: number;
  /** Say how to quit (a terminal). */
  interactive: boolean;
  /** Why this frame could not be read (the last snapshot is shown under it, if any). */
  error?: string;
}

/** Rows at most per section other than the triggers, which take what is left. */
const MAX_TRIGGERERS = 6;
const MAX_WORKERS = 4;
const MAX_JOBS = 8;
/**
 * Characters at most of a cell that may be long (ids, endpoints of jobs, which name their
 * supervisord.conf), so that one long value does not push every column after it off the screen.
 */
const WIDE = 44;
const NARROW = 32;
/** Triggers shown when the frame goes to a pipe. */
const PLAIN_TRIGGERS = 20;

const COLORS: Record<string, number> = {
  RUNNING: 32,
  completed: 32,
  fired: 32,
  succeeded: 32,
  healthy: 32,
  STARTING: 33,
  BACKOFF: 33,
  STOPPING: 33,
  delayed: 33,
  timeout: 33,
  stopped: 33,
  FATAL: 31,
  UNKNOWN: 31,
  EXITED: 31,
  failed: 31,
  late: 31,
  active: 34,
  cancelled: 34,
};
const COLORED = new RegExp(`\\b(${Object.keys(COLORS).join('|')})\\b`, 'g');

/** The frame's lines (without line ends). */
export function renderFrame(snapshot: WatchSnapshot | undefined, options: FrameOptions): string[] {
  const now = snapshot?.at ?? Date.now();
  const time = new Date(now).toISOString().slice(11, 19);
  const lines = [
    `supervisor-triggerer status · ${options.where} · ${time} UTC · every ${options.intervalMs < 1000 ? `${options.intervalMs}ms` : duration(options.intervalMs)}` +
      (options.interactive ? ' · q quits' : ''),
  ];
  if (options.error) lines.push(`! ${options.error}${snapshot ? ' (showing the last frame read)' : ''}`);
  if (!snapshot) return finish(lines, options);

  const triggerers = section(
    `TRIGGERERS (${snapshot.triggerers.length} live)`,
    ['ID', 'HOST', 'PID', 'HEALTH', 'LOAD', 'WATCHING'],
    snapshot.triggerers.map((t) => [
      t.id,
      t.hostname,
      String(t.pid),
      health(t, now),
      `${t.running}/${t.capacity}`,
      clip(watching(t), WIDE),
    ]),
    MAX_TRIGGERERS,
    'none: no triggerer has beaten in the last few intervals',
  );
  const workers = section(
    `WORKERS (${snapshot.workers.length} live)`,
    ['ID', 'HOST', 'PID', 'HEALTH', 'RUNNING', 'QUEUES'],
    snapshot.workers.map((w) => [
      w.id,
      w.hostname,
      String(w.pid),
      health(w, now),
      String(w.running),
      (w.knows ?? []).join(' ') || '-',
    ]),
    MAX_WORKERS,
    'none',
  );
  const jobs = section(
    `JOBS (${snapshot.jobs.length + snapshot.moreJobs})`,
    ['NAME', 'RUN', 'STEP', 'CYCLE', 'RETRIGGERS', 'PROGRAMS', 'LAST EVENT'],
    snapshot.jobs.map((j) => [
      clip(j.name, NARROW),
      j.active ? 'active' : (j.outcome?.status ?? 'ended'),
      j.step,
      String(j.cycle),
      j.limits.maxretrigger === undefined ? String(j.retriggers) : `${j.retriggers}/${j.limits.maxretrigger}`,
      clip(j.programs.map((p) => `${p.name} ${p.state}`).join(', ') || '-', WIDE),
      j.events[0]
        ? `${ago(now - Date.parse(j.events[0].at))} ${j.events[0].step}: ${j.events[0].message}`
        : '-',
    ]),
    MAX_JOBS,
    'no job has run',
    snapshot.moreJobs,
  );
  const counts = TRIGGER_STATES.map((s) => `${s} ${snapshot.counts[s]}`).join(' · ');
  const fixed = lines.length + triggerers.length + workers.length + jobs.length + 4;
  const room = Number.isFinite(options.rows) ? Math.max(1, options.rows - fixed) : PLAIN_TRIGGERS;
  const triggers = section(
    `TRIGGERS  ${counts}`,
    ['ID', 'STATE', 'CLASSPATH', 'ENDPOINT', 'AGE', 'DEADLINE', 'OUTCOME'],
    snapshot.triggers.map((t) => [
      clip(t.triggerId, WIDE),
      t.state,
      clip(t.classpath, NARROW),
      clip(t.endpoint ?? '-', NARROW),
      duration(t.ageMs),
      t.deadline === undefined ? '-' : relative(Date.parse(t.deadline) - now),
      t.status ?? (t.lock ? (t.lock.held ? 'held' : 'lock lost') : '-'),
    ]),
    // The title and the header row take two of the rows left.
    Math.max(1, room - 2),
    'no trigger',
    snapshot.moreTriggers ? 1 : 0,
  );
  lines.push('', ...triggerers, '', ...workers, '', ...triggers, '', ...jobs);
  return finish(lines, options);
}

/** A titled table of at most `max` rows (counting a "more" line), or its empty line. */
function section(
  title: string,
  head: string[],
  rows: string[][],
  max: number,
  empty: string,
  moreBeyond = 0,
): string[] {
  if (rows.length === 0) return [title, `  ${empty}`];
  const fits = rows.length + (moreBeyond > 0 ? 1 : 0) <= max ? rows.length : Math.max(0, max - 1);
  const lines = [title, ...table([head, ...rows.slice(0, fits)])];
  const hidden = rows.length - fits;
  if (hidden > 0) lines.push(`  … ${hidden}${moreBeyond > 0 ? '+' : ''} more`);
  else if (moreBeyond > 0) lines.push('  … more');
  return lines;
}

function health(member: TriggererInfo, now: number): string {
  const age = now - Date.parse(member.beat);
  return `${age <= 2 * member.intervalMs ? 'healthy' : 'late'} ${duration(Math.max(0, age))}`;
}

function watching(t: TriggererInfo): string {
  const entries = Object.entries(t.endpoints).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '-' : entries.map(([name, n]) => `${name}:${n}`).join(' ');
}

/** Cuts every line to the width and the frame to the height, then colours state words. */
function finish(lines: string[], options: FrameOptions): string[] {
  const rows = Number.isFinite(options.rows) ? lines.slice(0, Math.max(1, options.rows)) : lines;
  return rows.map((line) => {
    // eslint-disable-next-line no-control-regex
    const cut = line.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, Math.max(1, options.columns));
    return options.color ? cut.replace(COLORED, (word) => `\x1b[${COLORS[word]}m${word}\x1b[0m`) : cut;
  });
}
