import { Router } from 'express';
import shelves from './library/shelves';
import loans from './library/loans';

// The API is two routers chained onto one, under /api/v2.
const library = Router().use(shelves).use(loans);

export default Router().use('/api/v2', library);
