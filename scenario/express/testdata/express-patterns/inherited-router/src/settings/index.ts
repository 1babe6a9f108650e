import { z } from 'zod';

const shape = z.object({
  MOUNT: z.string().default('/billing'),
  REVISION: z.string().default('r2'),
});

const result = shape.safeParse(process.env);
if (!result.success) {
  process.exit(1);
}

export const settings = result.data;
