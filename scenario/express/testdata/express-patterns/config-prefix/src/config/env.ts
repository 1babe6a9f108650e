import { z } from 'zod';

const schema = z.object({
  ADMIN_BASE: z.string().default('/admin'),
  PORT: z.string().default('3000'),
});

let parsed;
try {
  parsed = schema.parse(process.env);
} catch (e) {
  process.exit(1);
}

export const env = parsed;
