import express = require('express');
const reports = require('./legacy/reports');
const { downloads } = require('./legacy/exports');

const app = express();
app.use('/reports', reports);
app.use('/downloads', downloads);
app.listen(3000);
