/**
 * Shared cooldowns: when a provider answers 429 with a retry-after, every replica stops
 * sending to that deployment until it passes. A cooldown is a key
 * `<prefix>cd:{deployment}` whose TTL is the cooldown, plus a message on `<prefix>cooldowns` so
 * other replicas learn it at once; a replica that (re)connects reads the keys' TTLs. Reads stay
 * local and synchronous (the executor's pick), so Redis trouble never slows routing: at worst a
 * replica only knows its own cooldowns, as without Redis.
 */
import type { Clock } from '../clock.js';
import { MemoryCooldowns } from '../routing/cooldowns.js';
import { luaScript, type RedisCommands, type Subscription } from './redis-commands.js';

// Sets the cooldown unless a longer one is already stored, and tells the other replicas. A
// stored TTL beyond the cap (ARGV[4]: set before the cap existed, or by a replica with a higher
// one) is replaced, so no key outlives the cap by much, not even across restarts.
const startScript = luaScript(`
local ms = tonumber(ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl >= ms and ttl <= tonumber(ARGV[4]) then return 0 end
redis.call('SET', KEYS[1], '1', 'PX', ms)
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ' ' .. ARGV[1])
return 1
`);

export class RedisCooldowns extends MemoryCooldowns {
  readonly #redis: RedisCommands;
  /** Deployments of the config now serving (a reload changes them): only these are mirrored. */
  #deployments: ReadonlySet<string>;
  readonly #channel: string;
  readonly #subscriber: Subscription;

  constructor(redis: RedisCommands, clock: Clock, deployments: readonly string[], maxCooldownMs?: number) {
    super(clock, maxCooldownMs);
    this.#redis = redis;
    this.#deployments = new Set(deployments);
    this.#channel = `${redis.keyPrefix}cooldowns`;
    this.#subscriber = redis.subscribe(this.#channel, {
      onMessage: (message) => this.#heard(message),
      onReady: () => void this.#sync(),
    });
    // Whichever connection is ready last triggers the sync that counts.
    redis.onReady(() => void this.#sync());
  }

  override start(deployment: string, ms: number): void {
    if (!(ms > 0)) return;
    super.start(deployment, ms);
    // The TTL is capped here too: a Redis key would otherwise outlive every restart.
    const whole = Math.max(1, Math.ceil(Math.min(ms, this.maxCooldownMs)));
    void this.#redis.evalScript(startScript, [this.#key(deployment)], [whole, this.#channel, deployment, this.maxCooldownMs]).catch(() => undefined);
  }

  /**
   * The deployments of a reloaded config: cooldowns of added ones are shared from now on, and
   * those already set by other replicas are read at once.
   */
  track(deployments: readonly string[]): void {
    const added = deployments.filter((d) => !this.#deployments.has(d));
    this.#deployments = new Set(deployments);
    if (added.length > 0) void this.#sync(added);
  }

  async close(): Promise<void> {
    this.#subscriber.close();
  }

  #heard(message: string): void {
    const [deployment, ms] = message.split(' ');
    const value = Number(ms);
    if (deployment && this.#deployments.has(deployment) && Number.isFinite(value) && value > 0) this.extend(deployment, value);
  }

  /** Cooldowns set while this replica was away (or before it started). */
  async #sync(deployments: Iterable<string> = this.#deployments): Promise<void> {
    if (!this.#redis.isReady()) return;
    await Promise.all(
      [...deployments].map(async (d) => {
        const ttl = await this.#redis.pttl(this.#key(d)).catch(() => -1);
        if (ttl > 0) this.extend(d, ttl);
        // A key stored before the cap (or by a replica with a higher one) is cut down to it.
        if (ttl > this.maxCooldownMs) await this.#redis.pexpire(this.#key(d), this.maxCooldownMs).catch(() => undefined);
      }),
    );
  }

  #key(deployment: string): string {
    return `${this.#redis.keyPrefix}cd:{${deployment}}`;
  }
}
