import { Router, Request, Response } from 'express';

const shelves = Router();

shelves.get('/shelves', (req: Request, res: Response) => {
  res.json([]);
});
shelves.post('/shelves', (req: Request, res: Response) => {
  res.status(201).json({ id: 'a' });
});

export default shelves;
