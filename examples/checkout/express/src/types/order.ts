import { Variant } from './cart';

/** The optional body of POST /api/orders/create. */
export interface CreateOrderRequest {
  /**
   * The caller's current cart. Without it, or with an empty cart, the
   * order is one unit of a random product.
   * @example "7ff0ba25-7b9d-485c-97ef-b160cf4d0c82"
   */
  cart_id?: string;
}

/** Path parameters of GET /api/orders/:id. */
export interface OrderParams {
  /**
   * An order ID returned by POST /api/orders/create.
   * @example "1"
   */
  id: string;
}

export interface OrderItem {
  product_id: string;
  variant: Variant;
  quantity: number;
  unit_price_cents: number;
}

export interface Order {
  id: number;
  user_id: number;
  status: 'created';
  total_cents: number;
  items: OrderItem[];
  /** RFC 3339 time. */
  created_at: string;
}
