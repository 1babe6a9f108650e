export { default as users } from './users';
export * from './tags';
