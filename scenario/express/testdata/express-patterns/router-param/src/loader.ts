import express from 'express';
import routes from './api';

export default ({ app }: { app: express.Application }) => {
  app.get('/status', (req, res) => res.end());
  app.head('/status', (req, res) => res.end());
  app.use('/rest', routes());
};
