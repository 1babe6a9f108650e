'use strict';
const express = require('express');

const router = express.Router();
router.get('/monthly', function (req, res) {
  res.json([]);
});
module.exports = router;
