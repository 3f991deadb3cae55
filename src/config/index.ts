/** The supervisord configuration layer: schemas, INI both ways, job files and their convenience layer. */
export { ConfigError, formatIssues, type ConfigIssue } from './errors.js';
export {
  supervisorConfigSchema,
  programSection,
  groupSection,
  eventlistenerSection,
  fcgiProgramSection,
  rpcinterfaceSection,
  supervisordSection,
  supervisorctlSection,
  unixHttpServerSection,
  inetHttpServerSection,
  includeSection,
  type SupervisorConfig,
  type SupervisorConfigInput,
  type ProgramSection,
} from './sections.js';
export { SIGNALS, LOG_LEVELS } from './values.js';
export { parseEnvironment, renderEnvironment } from './environment.js';
export { parseIni, renderIni, readIni, type IniSection } from './ini.js';
export { parseDuration } from './duration.js';
export { jobSchema, jobOptions, type JobConfig, type JobConfigInput, type JobOptions } from './job.js';
export {
  resolveJob,
  writeJobState,
  readState,
  type JobState,
  writeJobFiles,
  type JobFiles,
  type ResolveJobOptions,
  PROGRAM_DEFAULTS,
  STATE_FILE,
  MAX_SOCKET_PATH,
  type ResolvedJob,
} from './convenience.js';
export { hostSection, hostOptions, type HostSection } from './host.js';
export { loadJobFiles, validateJob, applyOverride, mergeDeep, jobJsonSchema } from './load.js';
export {
  importSupervisorFile,
  jobToYaml,
  defaultImportDir,
  expandHere,
  type ImportOptions,
  type ImportResult,
} from './import.js';
