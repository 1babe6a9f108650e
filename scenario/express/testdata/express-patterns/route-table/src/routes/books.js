const express = require('express');

const router = express.Router();
router
  .route('/')
  .get((req, res) => res.json([]))
  .post((req, res) => res.status(201).json({ id: 1 }));
router.route('/:bookId').get((req, res) => res.json({})).put((req, res) => res.json({}));
module.exports = router;
