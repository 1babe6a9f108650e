import { randomUUID } from 'crypto';
import { CartLine, Order, OrderItem, Variant } from './types';

/** A product of the catalog. */
export interface Product {
  id: string;
  name: string;
  price_cents: number;
}

export const VARIANTS: readonly Variant[] = ['S', 'M', 'L', 'XL'];

/** prod_1 … prod_500, priced like the Go service's seed. */
export const products: Map<string, Product> = new Map(
  Array.from({ length: 500 }, (_, i): [string, Product] => {
    const n = i + 1;
    const id = `prod_${n}`;
    return [id, { id, name: `Product ${n}`, price_cents: 999 + ((n * 7919) % 141) * 100 }];
  }),
);

interface StoredCart {
  id: string;
  quantities: Map<string, number>; // "product_id|variant" → quantity
}

const carts = new Map<number, StoredCart>();
const orders = new Map<number, Order>();
let nextOrderId = 1;

export function addToCart(userId: number, productId: string, variant: Variant, quantity: number): StoredCart {
  let cart = carts.get(userId);
  if (!cart) {
    cart = { id: randomUUID(), quantities: new Map() };
    carts.set(userId, cart);
  }
  const key = `${productId}|${variant}`;
  cart.quantities.set(key, (cart.quantities.get(key) ?? 0) + quantity);
  return cart;
}

export function getCart(userId: number): StoredCart | undefined {
  return carts.get(userId);
}

export function clearCart(userId: number): void {
  carts.delete(userId);
}

export function cartLines(cart: StoredCart): CartLine[] {
  return [...cart.quantities].map(([key, quantity]) => {
    const [productId, variant] = key.split('|') as [string, Variant];
    const product = products.get(productId)!;
    return { product_id: productId, name: product.name, variant, quantity, unit_price_cents: product.price_cents };
  });
}

export function createOrder(userId: number, lines: Omit<OrderItem, 'unit_price_cents'>[]): Order {
  const items = lines.map((l) => ({ ...l, unit_price_cents: products.get(l.product_id)!.price_cents }));
  const order: Order = {
    id: nextOrderId++,
    user_id: userId,
    status: 'created',
    total_cents: items.reduce((sum, i) => sum + i.quantity * i.unit_price_cents, 0),
    items,
    created_at: new Date().toISOString(),
  };
  orders.set(order.id, order);
  return order;
}

export function getOrder(id: number): Order | undefined {
  return orders.get(id);
}
