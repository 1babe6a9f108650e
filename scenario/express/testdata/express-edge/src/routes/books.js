const { Router } = require('express');
const controller = require('../controllers/books');

const router = Router();

router
  .route('/')
  .get(controller.list)
  .post(controller.create);

router.get('/:isbn', controller.show);
router.delete('/:isbn', requireAdmin, controller.remove);

function requireAdmin(req, res, next) { next(); }

module.exports = router;
