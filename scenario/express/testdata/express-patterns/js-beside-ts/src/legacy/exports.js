const { Router } = require('express');

exports.downloads = Router().get('/latest', (req, res) => res.send(''));
