import { inspect } from 'node:util';

/**
 * A credential read from the environment. It prints as "[secret]" everywhere (logs, JSON,
 * util.inspect, string interpolation) so that only `upstream/` ever sees the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  /** The plain value; call only where it goes onto the wire. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[secret]';
  }

  toJSON(): string {
    return '[secret]';
  }

  [inspect.custom](): string {
    return '[secret]';
  }
}
