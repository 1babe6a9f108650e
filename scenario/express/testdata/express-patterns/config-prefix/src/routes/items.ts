import { Router } from 'express';

export const VERSION = 'v3';
const router = Router();
router.get('/', (req, res) => res.json([]));
router.patch('/:itemId', (req, res) => res.json({}));
export default router;
