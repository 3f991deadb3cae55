/** A plugin module for the registry tests: exports `triggers` as the triggerer's config would load it. */
import { of } from 'rxjs';
import { z } from 'zod';
import { defineTrigger } from '../../../src/triggerer/definition.js';

export const triggers = [
  defineTrigger({
    classpath: 'test.EchoTrigger',
    kwargs: z.strictObject({ say: z.string() }),
    run: (k) => of({ status: 'fired' as const, payload: { said: k.say } }),
  }),
];
