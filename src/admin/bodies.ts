import { z } from 'zod';
import { budgetsSchema, concurrencySchema, limitsSchema, maxCostUsdSchema, name, payloadsSchema, tenantQueueSchema } from '../config/schema.js';
import { auditProblems } from '../control/audit-verify.js';

/**
 * Request and response bodies of the admin API: validated with these schemas, and described by
 * them in the OpenAPI document (openapi.ts), so the two cannot drift. Strings are bounded and
 * refuse control characters and unpaired surrogates (PostgreSQL's jsonb holds neither U+0000 nor
 * a lone `\ud800`: either would be a 500 from the database, and none belongs in a name).
 */

/** A UTF-16 surrogate without its pair: JSON can carry one (`"\ud800"`), UTF-8 and jsonb cannot. */
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const printable = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/, 'must not contain control characters')
    .refine((s) => !loneSurrogate.test(s), 'must be valid Unicode (no unpaired surrogate)');

const maxMetadataEntries = 32;

// The refinement validates; `maxProperties` says the same in the OpenAPI document, which a
// refinement cannot reach (without it the document would accept 33 labels the handler refuses).
const metadata = z
  .record(printable(64), printable(512))
  .refine((m) => Object.keys(m).length <= maxMetadataEntries, `at most ${maxMetadataEntries} entries`)
  .meta({ maxProperties: maxMetadataEntries })
  .describe(`Free-form labels (at most ${maxMetadataEntries}, keys up to 64 characters, values up to 512).`);

const modelList = z.array(printable(256)).min(1).max(1_000).describe('Model aliases, or ["*"] for all.');

const budgets = budgetsSchema.describe('Spend budgets: at most one per period, each `{period: daily|weekly|monthly|lifetime, limitUsd?, softLimitUsd?}` (docs/budgets.md).');
const maxCost = maxCostUsdSchema.describe('Most one request may cost, worst case, in US dollars (a number or decimal string); targets dearer than this are skipped.');

const keyRole = z.enum(['team_admin', 'member', 'viewer']);
const teamRole = keyRole;

const queuePlace = tenantQueueSchema.describe('Its place in the queues (docs/queueing.md): `{weight: 1–100, priority: high|normal|low, maxPriority?}`; null: weight 1, `normal`, at most `normal`.');

export const createTeamBody = z
  .object({
    name: name.describe('Unique; the tenant name in metrics and logs.'),
    models: modelList.default(['*']),
    limits: limitsSchema.optional(),
    modelLimits: z.record(name, limitsSchema).optional(),
    concurrency: concurrencySchema.optional(),
    budgets: budgets.optional(),
    metadata: metadata.optional(),
    payloads: payloadsSchema.optional().describe('Store its prompts and completions in the request log (opt-in): `{"store": true, "maxBytes", "retentionDays", "redact": [regex…]}`.'),
    queue: queuePlace.optional(),
  })
  .strict();

export const updateTeamBody = z
  .object({
    models: modelList.optional(),
    limits: limitsSchema.nullable().optional(),
    modelLimits: z.record(name, limitsSchema).nullable().optional(),
    concurrency: concurrencySchema.nullable().optional(),
    budgets: budgets.nullable().optional(),
    metadata: metadata.optional(),
    payloads: payloadsSchema.nullable().optional().describe('Store its prompts and completions (opt-in); null: stop storing them.'),
    queue: queuePlace.nullable().optional(),
  })
  .strict();

export const createKeyBody = z
  .object({
    team: name,
    name: printable(128).optional(),
    role: keyRole.default('member').describe('`member` calls models; `viewer` reads the admin API; `team_admin` manages its team.'),
    models: modelList.optional().describe("A subset of the team's models; default: all of them."),
    limits: limitsSchema.optional().describe("The key's own buckets, enforced as well as the team's."),
    budgets: budgets.optional().describe("The key's own budgets, counted as well as the team's (a key budget only narrows)."),
    maxCostPerRequestUsd: maxCost.optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('After this instant the key is refused (401 api_key_expired).'),
    metadata: metadata.optional(),
  })
  .strict();

export const updateKeyBody = z
  .object({
    name: printable(128).nullable().optional(),
    role: keyRole.optional(),
    models: modelList.nullable().optional(),
    limits: limitsSchema.nullable().optional(),
    budgets: budgets.nullable().optional(),
    maxCostPerRequestUsd: maxCost.nullable().optional(),
    expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
    metadata: metadata.optional(),
  })
  .strict();

export const rotateKeyBody = z
  .object({
    graceMs: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400_000)
      .optional()
      .describe('How long the old secret keeps working; default admin.rotationGraceMs (24 h). 0 ends it at once.'),
  })
  .strict();

export const createUserBody = z
  .object({
    subject: printable(256).describe("The identity provider's `sub` for this person."),
    email: printable(320).optional(),
    role: z.enum(['admin', 'viewer']).nullable().optional().describe('A role over every team; null or absent: team roles only.'),
  })
  .strict();

export const updateUserBody = z
  .object({
    email: printable(320).nullable().optional(),
    role: z.enum(['admin', 'viewer']).nullable().optional(),
  })
  .strict();

export const setMemberBody = z.object({ role: teamRole }).strict();

// Responses (described in the OpenAPI document; built by the handlers).

const source = z.enum(['api', 'config']).describe('`config`: defined in the config file, read-only here.');
const timestamp = z.string().describe('RFC 3339');

/** A budget as the API shows it: money as decimal strings (`"1.00"`), never floats. */
const budgetView = z.object({
  period: z.enum(['daily', 'weekly', 'monthly', 'lifetime']),
  limit_usd: z.string().nullable(),
  soft_limit_usd: z.string().nullable(),
});

export const teamView = z.object({
  name: z.string(),
  source,
  models: z.array(z.string()),
  limits: limitsSchema.nullable(),
  modelLimits: z.record(z.string(), limitsSchema).nullable(),
  concurrency: concurrencySchema.nullable(),
  budgets: z.array(budgetView).nullable(),
  metadata: z.record(z.string(), z.string()),
  payloads: payloadsSchema.nullable().describe('Whether (and how) its prompts and completions are stored; null: they are not.'),
  queue: queuePlace.nullable(),
  createdAt: timestamp.nullable(),
  updatedAt: timestamp.nullable(),
});

export const keyView = z.object({
  id: z.string(),
  source,
  team: z.string(),
  name: z.string().nullable(),
  role: keyRole,
  prefix: z.string().nullable().describe('The first characters of the secret; the secret itself is shown once, at creation or rotation.'),
  models: z.array(z.string()).nullable(),
  limits: limitsSchema.nullable(),
  budgets: z.array(budgetView).nullable(),
  max_cost_per_request_usd: z.string().nullable().describe('Per-request cost ceiling in US dollars, a decimal string.'),
  metadata: z.record(z.string(), z.string()),
  expiresAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  createdAt: timestamp.nullable(),
  createdBy: z.string().nullable(),
  lastUsedAt: timestamp.nullable().describe('Written in batches (state.database.lastUsedFlushMs), so up to that much behind.'),
});

export const keyWithSecret = keyView.extend({ key: z.string().describe('The secret. Shown only in this response.') });

export const userView = z.object({
  id: z.string(),
  subject: z.string(),
  email: z.string().nullable(),
  role: z.enum(['admin', 'viewer']).nullable(),
  teams: z.array(z.object({ team: z.string(), role: teamRole })),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const auditEntryView = z.object({
  seq: z.number().int(),
  at: timestamp.nullable().describe('Null only when the stored time was edited to one that cannot be shown (then the entry fails verification).'),
  actor: z.string(),
  actorType: z.string(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  source: z.string().nullable(),
  requestId: z.string().nullable(),
  before: z.unknown(),
  after: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});

const anchorView = z.object({ seq: z.number().int(), hash: z.string() });

export const verifyView = z.object({
  ok: z.boolean(),
  entries: z.number().int().describe('Entries checked and found sound.'),
  head: anchorView.optional().describe('The head recorded when the check began: keep it elsewhere and pass it later as `anchor`.'),
  firstBad: z
    .object({
      seq: z.number().int(),
      problem: z.enum(auditProblems),
      reason: z.string(),
    })
    .optional(),
});

export const meView = z.object({
  actor: z.string(),
  actorType: z.string(),
  role: z.enum(['admin', 'viewer']).nullable(),
  teams: z.array(z.object({ team: z.string(), role: teamRole })),
});

export const listOf = <T extends z.ZodType>(item: T) => z.object({ object: z.literal('list'), data: z.array(item), nextCursor: z.string().nullable().optional() });
