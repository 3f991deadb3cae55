/** Where and how to reach one supervisord's XML-RPC interface. */
export interface SupervisorEndpoint {
  /** `unix:///abs/path/supervisor.sock` or `http://host:port/RPC2` (no credentials in the URL). */
  url: string;
  /** Basic-auth user; without it no Authorization header is sent. */
  username?: string;
  password?: string;
  /** Per-call timeout in ms. @default 10000 */
  timeoutMs?: number;
}
