import { Router, Request, Response } from 'express';

const route = Router();

export default (app: Router) => {
  app.use('/accounts', route);
  route.post('/signin', (req: Request, res: Response) => res.json({ token: 'x' }));
  route.get('/me', (req: Request, res: Response) => res.json({}));
};
