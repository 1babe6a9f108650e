import { Request, Response, Router } from 'express';
import { AuthLocals, authenticate } from '../middleware/authenticate';
import { addToCart, cartLines, products, VARIANTS } from '../store';
import { CartItem, CartResponse, ErrorResponse } from '../types';

export const cartRouter = Router();

/** POST /api/cart/add: adds units of a product variant to the caller's cart. */
cartRouter.post(
  '/add',
  authenticate,
  (req: Request<{}, CartResponse | ErrorResponse, CartItem>, res: Response<CartResponse | ErrorResponse, AuthLocals>) => {
    const item = req.body as CartItem;
    if (typeof item.product_id !== 'string' || !/^prod_[1-9][0-9]*$/.test(item.product_id)) {
      res.status(400).json({ error: 'product_id is not of the form prod_N (prod_1 … prod_500)' });
      return;
    }
    if (!VARIANTS.includes(item.variant)) {
      res.status(400).json({ error: 'variant must be one of S, M, L, XL' });
      return;
    }
    if (!Number.isInteger(item.quantity) || item.quantity < 1 || item.quantity > 10) {
      res.status(400).json({ error: 'quantity must be an integer from 1 to 10' });
      return;
    }
    if (!products.has(item.product_id)) {
      res.status(404).json({ error: `product "${item.product_id}" not found` });
      return;
    }
    const cart = addToCart(res.locals.userId, item.product_id, item.variant, item.quantity);
    const items = cartLines(cart);
    res.json({
      cart_id: cart.id,
      items,
      item_count: items.reduce((n, l) => n + l.quantity, 0),
      subtotal_cents: items.reduce((n, l) => n + l.quantity * l.unit_price_cents, 0),
    });
  },
);
