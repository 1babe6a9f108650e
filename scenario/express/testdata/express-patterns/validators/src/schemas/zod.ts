import { z } from 'zod';

export const NewTicket = z.object({
  body: z.object({
    title: z.string().min(3).max(80),
    severity: z.enum(['low', 'high']),
    watchers: z.array(z.string().email()).optional(),
  }),
  params: z.object({ boardId: z.string() }),
});
