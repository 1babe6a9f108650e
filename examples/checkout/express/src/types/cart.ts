/** A size every product comes in. */
export type Variant = 'S' | 'M' | 'L' | 'XL';

/** The body of POST /api/cart/add: units of a product variant to add. */
export interface CartItem {
  /**
   * The product, prod_1 … prod_500.
   * @pattern ^prod_([1-9][0-9]?|[1-4][0-9]{2}|500)$
   * @example "prod_42"
   */
  product_id: string;
  /**
   * The size.
   * @example "M"
   */
  variant: 'S' | 'M' | 'L' | 'XL';
  /**
   * Units to add.
   * @minimum 1
   * @maximum 10
   * @example 2
   */
  quantity: number;
}

/** One line of a cart, priced. */
export interface CartLine {
  product_id: string;
  name: string;
  variant: Variant;
  quantity: number;
  /** Unit price in cents. */
  unit_price_cents: number;
}

/** The caller's cart after an addition. */
export interface CartResponse {
  /** @example "7ff0ba25-7b9d-485c-97ef-b160cf4d0c82" */
  cart_id: string;
  items: CartLine[];
  /** Units in the cart: the sum of quantities. */
  item_count: number;
  subtotal_cents: number;
}
