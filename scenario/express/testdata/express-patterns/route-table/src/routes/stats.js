const express = require('express');
const router = express.Router();
router.get('/daily', (req, res) => res.json({}));
module.exports = router;
