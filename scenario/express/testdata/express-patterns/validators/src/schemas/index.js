const Joi = require('joi');

const signup = {
  body: Joi.object().keys({
    email: Joi.string().required().email(),
    age: Joi.number().integer().min(13).max(120),
    plan: Joi.string().valid('free', 'team').required(),
  }),
};

module.exports = { signup };
