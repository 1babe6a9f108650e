const express = require('express');
const booksRoute = require('./books');
const authorsRoute = require('./authors');
const statsRoute = require('./stats');
const reviewsRoute = require('./reviews');

const router = express.Router();

const mounted = [
  { path: '/books', route: booksRoute },
  { path: '/authors', route: authorsRoute },
];
mounted.forEach((entry) => {
  router.use(entry.path, entry.route);
});

const reports = [{ prefix: '/stats', handler: statsRoute }];
for (const { prefix, handler } of reports) {
  router.use(prefix, handler);
}

[{ path: '/reviews', route: reviewsRoute }].map(({ path, route }) => router.use(path, route));

module.exports = router;
