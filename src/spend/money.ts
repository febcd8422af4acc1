/**
 * Money is counted in whole picodollars (1 pUSD = 10⁻¹² USD), in integers, everywhere: a price
 * of $0.0375 per million tokens is 37,500 pUSD per token, so every published price is a whole
 * number of picodollars per token and a request's cost is an exact integer. At catalogue prices
 * one request costs at most a few thousand dollars (10 M tokens × the dearest price), below 2⁵³
 * pUSD (about $9,007); a configured price can go further, so per-request amounts are capped there
 * (price.ts safeAmount) and stay safe JavaScript integers; sums over many requests are kept
 * as bigint (PostgreSQL `numeric`/`bigint`, Redis 64-bit integers: ±$9.2 million per counter).
 */

/** Picodollars in one US dollar. */
export const picoPerUsd = 1_000_000_000_000n;
/** Picodollars per token for a price of one dollar per million tokens. */
export const picoPerTokenPerUsdPerMillion = 1_000_000;

const decimal = /^(\d{1,15})(?:\.(\d{1,12}))?$/;

/**
 * A decimal amount of dollars ("12.5", 0.0375) → whole picodollars, exactly. A number is read
 * through its shortest decimal form (0.1 → "0.1"), so YAML numbers parse as written. Throws on
 * a negative amount, more than 12 decimal places or more than $10¹⁵.
 */
export function usdToPico(amount: string | number): bigint {
  const text = typeof amount === 'number' ? numberText(amount) : amount.trim();
  const m = decimal.exec(text);
  if (!m) throw new RangeError(`not a dollar amount with at most 12 decimal places: ${String(amount)}`);
  const fraction = (m[2] ?? '').padEnd(12, '0');
  return BigInt(m[1]!) * picoPerUsd + BigInt(fraction);
}

/** Dollars per million tokens → picodollars per token (a safe integer). */
export function perMillionToPicoPerToken(usdPerMillion: string | number): number {
  const pico = usdToPico(usdPerMillion);
  // $/M × 10¹² pUSD/$ ÷ 10⁶ tokens/M: exact only when the price has at most 6 decimals.
  if (pico % 1_000_000n !== 0n) throw new RangeError(`a price per million tokens has at most 6 decimal places: ${String(usdPerMillion)}`);
  const perToken = pico / 1_000_000n;
  if (perToken > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`price too large: ${String(usdPerMillion)}`);
  return Number(perToken);
}

/**
 * Picodollars → a decimal dollar string with no trailing zeros beyond the cents ("0.00042",
 * "1.50", "0.00"), exact (no float on the way). Negative amounts keep their sign.
 */
export function formatUsd(pico: number | bigint): string {
  let p = BigInt(pico);
  const negative = p < 0n;
  if (negative) p = -p;
  const whole = p / picoPerUsd;
  let fraction = (p % picoPerUsd).toString().padStart(12, '0').replace(/0+$/, '');
  if (fraction.length < 2) fraction = fraction.padEnd(2, '0');
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** The shortest decimal text of a finite non-negative number, without exponent notation. */
function numberText(n: number): string {
  if (!Number.isFinite(n) || n < 0) throw new RangeError(`not a dollar amount: ${n}`);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  // 1e-7 and the like: toFixed gives the digits (at most 20 decimals; more than 12 is refused above).
  return n.toFixed(20).replace(/0+$/, '').replace(/\.$/, '');
}
