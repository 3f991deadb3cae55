/** A plugin that exports something that is not a trigger definition. */
export const triggers = [{ classpath: 'test.Broken', run: 'not a function' }];
