import express, { Request, Response, NextFunction } from 'express';

const app = express();
const authenticate = (req: Request, res: Response, next: NextFunction) => next();
const validate = (req: Request, res: Response, next: NextFunction) => next();
const asyncHandler = (fn: any) => (req: Request, res: Response, next: NextFunction) => Promise.resolve(fn(req, res, next)).catch(next);

app.get('/files/:name?', (req, res) => res.send(''));
app.get(/^\/healthz\/?$/, (req, res) => res.send('ok'));
app.post('/uploads', [authenticate, validate], asyncHandler(async (req: Request, res: Response) => {
  res.status(201).json({ id: 1 });
}));
app.get(['/a', '/b'], (req, res) => res.send(''));
