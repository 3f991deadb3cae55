/** A plugin whose default export claims a built-in classpath: loading it must fail. */
import { NEVER } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../../../src/triggerer/definition.js';

export default defineTrigger({
  classpath: 'supervisor.ProgramStateTrigger',
  kwargs: z.object({}),
  run: () => NEVER,
});
