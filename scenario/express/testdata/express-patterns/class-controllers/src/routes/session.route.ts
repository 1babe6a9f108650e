import { Router } from 'express';

export class SessionRoute {
  public router: Router;

  constructor() {
    this.router = Router();
    this.router.post('/session', (req, res) => res.status(201).json({ token: 't' }));
  }
}
