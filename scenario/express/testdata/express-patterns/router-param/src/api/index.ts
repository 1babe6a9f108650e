import { Router } from 'express';
import accounts from './routes/accounts';
import health from './routes/health';

export default () => {
  const app = Router();
  accounts(app);
  health(app);
  return app;
};
