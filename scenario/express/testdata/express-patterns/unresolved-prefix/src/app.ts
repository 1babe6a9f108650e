import express, { Router } from 'express';

const api = Router();
api.get('/orders', (req, res) => res.json([]));

const app = express();
app.use(process.env.API_BASE_PATH, api);
