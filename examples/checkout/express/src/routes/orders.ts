import { Request, Response, Router } from 'express';
import { AuthLocals, authenticate } from '../middleware/authenticate';
import { cartLines, clearCart, createOrder, getCart, getOrder, products, VARIANTS } from '../store';
import { CreateOrderRequest, ErrorResponse, Order, OrderParams } from '../types';

export const ordersRouter = Router();

/**
 * POST /api/orders/create: turns the caller's cart into an order. With an
 * empty cart the order is one unit of a random product.
 */
ordersRouter.post('/create', authenticate, (req: Request, res: Response<Order | ErrorResponse, AuthLocals>) => {
  const body = (req.body ?? {}) as CreateOrderRequest;
  const userId = res.locals.userId;
  const cart = getCart(userId);
  if (body.cart_id && cart && body.cart_id !== cart.id) {
    res.status(404).json({ error: `cart "${body.cart_id}" not found` });
    return;
  }
  let lines = cart ? cartLines(cart) : [];
  if (lines.length === 0) {
    const n = 1 + Math.floor(Math.random() * products.size);
    const variant = VARIANTS[Math.floor(Math.random() * VARIANTS.length)];
    lines = [{ product_id: `prod_${n}`, name: '', variant, quantity: 1, unit_price_cents: 0 }];
  }
  const order = createOrder(
    userId,
    lines.map(({ product_id, variant, quantity }) => ({ product_id, variant, quantity })),
  );
  clearCart(userId);
  res.status(201).location(`/api/orders/${order.id}`).json(order);
});

/** GET /api/orders/:id: one of the caller's orders; others' are 404. */
ordersRouter
  .route('/:id')
  .get(authenticate, (req: Request<OrderParams, Order | ErrorResponse>, res: Response<Order | ErrorResponse, AuthLocals>) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || id < 1) {
      res.status(400).json({ error: `order id "${req.params.id}" is not a positive integer` });
      return;
    }
    const order = getOrder(id);
    if (!order || order.user_id !== res.locals.userId) {
      res.status(404).json({ error: `order ${id} not found` });
      return;
    }
    res.json(order);
  });
