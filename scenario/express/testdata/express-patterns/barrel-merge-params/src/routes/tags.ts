import { Router } from 'express';

export const tagsRouter = Router();
tagsRouter.get('/', (req, res) => res.json([]));
