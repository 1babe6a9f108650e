import { Router } from 'express';

const audit = Router();
audit.get('/log', (req, res) => res.json([]));
export { audit };
