import express from 'express';
import routes from './routes';

const server = express();
server.use(express.json());
server.use(routes);
server.get('/', (req, res) => res.json({ ok: true }));
server.listen(4100);
