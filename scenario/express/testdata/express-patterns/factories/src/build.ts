import express from 'express';

// The app is made in one place and routes are added where it is used.
export function buildApp() {
  const app = express();
  app.use(express.json());
  return app;
}
