import { makeRouter } from 'some-router-kit';
import { buildApp } from './build';

const app = buildApp();
const router = makeRouter();

router.get('/widgets', (req, res) => res.json([]));
app.use('/kit', router);
app.post('/widgets', (req, res) => res.status(201).json({}));
app.listen(3000);
