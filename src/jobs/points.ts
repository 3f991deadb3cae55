/**
 * The steps of a job run and the points users hook into, named once. The job file's `hooks` keys,
 * the TypeScript hook map and the `ST_STEP` of a hook's environment all come from these lists.
 */

/** The steps of a run, in pipeline order; `end` closes every run (on_end, the run key released). */
export const STEPS = [
  'configure',
  'start',
  'start-programs',
  'watch',
  'evaluate',
  'restart-programs',
  'stop-programs',
  'stop',
  'unconfigure',
  'end',
] as const;
export type Step = (typeof STEPS)[number];

/** The steps that tear a run down: they run whatever happened before, and never fail the run again. */
export const TEARDOWN_STEPS: readonly Step[] = ['stop-programs', 'stop', 'unconfigure', 'end'];

/** Steps with a `before_*` and an `after_*` hook (every step but `end`, whose hook is `on_end`). */
const HOOKED_STEPS = [
  'configure',
  'start',
  'start_programs',
  'watch',
  'evaluate',
  'restart_programs',
  'stop_programs',
  'stop',
  'unconfigure',
] as const;
type HookedStep = (typeof HOOKED_STEPS)[number];

/** Every hook point: `before_<step>`, `after_<step>`, `on_unhealthy`, `on_end`. */
export const HOOK_POINTS = [
  ...HOOKED_STEPS.flatMap((step) => [`before_${step}`, `after_${step}`] as const),
  'on_unhealthy',
  'on_end',
] as unknown as readonly HookPoint[];
export type HookPoint = `before_${HookedStep}` | `after_${HookedStep}` | 'on_unhealthy' | 'on_end';

/** The `before_*` or `after_*` hook point of a step (`start-programs` → `before_start_programs`). */
export function stepHook(when: 'before' | 'after', step: Step): HookPoint | undefined {
  if (step === 'end') return undefined;
  return `${when}_${step.replaceAll('-', '_')}` as HookPoint;
}
