/** Each step of a run, by name. */
import type { Step } from '../points.js';
import type { StepContext, Successor } from '../step-context.js';
import { configureStep, restartProgramsStep, startProgramsStep, startStep } from './setup.js';
import { endStep, stopProgramsStep, stopStep, unconfigureStep } from './teardown.js';
import { evaluateStep, watchStep } from './watch.js';

export { endpointNameOf, WATCH_CLASSPATH, MAX_WATCH_FAILURES } from './watch.js';

/** The function of every step. */
export const STEP_FUNCTIONS: Record<Step, (ctx: StepContext) => Promise<Successor>> = {
  configure: configureStep,
  start: startStep,
  'start-programs': startProgramsStep,
  watch: watchStep,
  evaluate: evaluateStep,
  'restart-programs': restartProgramsStep,
  'stop-programs': stopProgramsStep,
  stop: stopStep,
  unconfigure: unconfigureStep,
  end: endStep,
};
