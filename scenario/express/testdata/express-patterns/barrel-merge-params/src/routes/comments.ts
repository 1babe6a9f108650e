import { Router } from 'express';

// The user id comes from the mount path.
const comments = Router({ mergeParams: true });
comments.get('/', (req, res) => res.json([]));
comments.post('/', (req, res) => res.status(201).json({}));
export = comments;
