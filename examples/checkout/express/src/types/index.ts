export * from './auth';
export * from './cart';
export * from './order';
export * from './error';
