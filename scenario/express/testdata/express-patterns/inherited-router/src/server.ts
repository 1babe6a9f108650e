import express from 'express';
import { settings } from './settings';
import invoices from './routes/invoices';

const root = `${settings.MOUNT}/${settings.REVISION}`;
const app = express();
app.use(`${root}/invoices`, invoices);
export default app;
