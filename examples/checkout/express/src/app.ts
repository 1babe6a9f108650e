import express from 'express';
import { authRouter } from './routes/auth';
import { cartRouter } from './routes/cart';
import { ordersRouter } from './routes/orders';

/**
 * The Express twin of the checkout API (examples/checkout): the same routes
 * and request types, for headroom's scenario generator.
 */
export const app = express();

app.use(express.json());
app.use('/api/auth', authRouter);
app.use('/api/cart', cartRouter);
app.use('/api/orders', ordersRouter);

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

if (require.main === module) {
  const port = Number(process.env.PORT ?? 8080);
  app.listen(port, '127.0.0.1', () => {
    console.log(`checkout (express twin) listening on 127.0.0.1:${port}`);
  });
}
