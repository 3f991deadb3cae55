/**
 * The base of every error the status page raises on purpose (a token that cannot be used, a request
 * it refuses). Never carries a secret: a token is named by where it comes from, never by its value.
 */
export class StatusPageError extends Error {
  override name = 'StatusPageError';
}

/** The status token's file or variable cannot be used. */
export class InvalidStatusToken extends StatusPageError {
  override name = 'InvalidStatusToken';
}
