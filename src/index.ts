export { createGateway, type Gateway, type GatewayOptions, type ListenOptions, type ReloadResult } from './app.js';
export { loadConfig, parseConfigText, resolveConfig, ConfigError, type ConfigIssue, type GatewayConfig } from './config/load.js';
export type { ConfigInput } from './config/schema.js';
export { errorCatalog, type ErrorCode } from './errors/catalog.js';
export { GatewayError } from './errors/gateway-error.js';
export type { GatewayEvents } from './observability/events.js';
export { FakeUpstream } from './testing/fake-upstream/fake-upstream.js';
export type { Behaviour, Fault } from './testing/fake-upstream/script.js';
