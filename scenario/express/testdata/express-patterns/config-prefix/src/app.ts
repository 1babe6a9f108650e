import express from 'express';
import config from './config';
import { env } from './config/env';
import items, { VERSION } from './routes/items';
import { audit } from './routes/audit';

const ITEMS = '/items';
const app = express();
app.use(config.http.prefix + '/' + VERSION + ITEMS, items);
app.use(`${env.ADMIN_BASE}/audit`, audit);
app.listen(config.port);
