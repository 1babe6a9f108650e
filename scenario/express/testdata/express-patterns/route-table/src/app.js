const express = require('express');
const cors = require('cors');
const routes = require('./routes');

const app = express();
app.use(cors());
// Preflight requests are answered on every path: not a route to load.
app.options('*', cors());
app.use('/v1', routes);
module.exports = app;
