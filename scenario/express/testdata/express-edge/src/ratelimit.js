module.exports = function rateLimit(req, res, next) { next(); };
