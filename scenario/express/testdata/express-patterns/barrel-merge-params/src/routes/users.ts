import { Router } from 'express';
import comments from './comments';

const users = Router();
users.get('/', (req, res) => res.json([]));
users.get('/:userId', (req, res) => res.json({}));
users.use('/:userId/comments', comments);
export default users;
