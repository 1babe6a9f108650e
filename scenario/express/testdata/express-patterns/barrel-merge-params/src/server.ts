import express from 'express';
import * as routes from './routes';
import { tagsRouter } from './routes';

const app = express();
app.use('/users', routes.users);
app.use('/tags', tagsRouter);
app.listen(3000);
