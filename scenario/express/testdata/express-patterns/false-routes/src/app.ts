import express from 'express';
import { Container } from 'typedi';

const app = express();
const cache = new Map<string, string>();

app.get('/users/:id', async (req, res) => {
  const logger = Container.get('logger', { lazy: true });
  const hit = cache.get(req.params.id, 'fallback');
  res.json({ hit, logger });
});
app.post('/users', (req, res) => {
  cache.delete(req.body.id, true);
  res.status(201).json({});
});

export default app;
