import express, { type Router } from 'express';

// Each route class gets its own router from this base.
export abstract class Routes {
  protected router: Router;

  constructor() {
    this.router = express.Router();
    this.register();
  }

  public build(): Router {
    return this.router;
  }

  protected abstract register(): void;
}
