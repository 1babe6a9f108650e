import express from 'express';
import { celebrate, Joi, Segments } from 'celebrate';
import { body } from 'express-validator';
import { signup } from './schemas';
import { NewTicket } from './schemas/zod';
import { CreateMemberDto } from './schemas/dto';

const app = express();
const validate = (schema: unknown) => (req: any, res: any, next: any) => next();
const checkDto = (dto: unknown) => (req: any, res: any, next: any) => next();

app.post('/signup', validate(signup), (req, res) => res.status(201).json({}));
app.post('/boards/:boardId/tickets', validate(NewTicket), (req, res) => res.status(201).json({}));
app.post('/members', checkDto(CreateMemberDto), (req, res) => res.status(201).json({}));
app.post(
  '/sessions',
  celebrate({ [Segments.BODY]: Joi.object({ login: Joi.string().required(), remember: Joi.boolean() }) }),
  (req, res) => res.json({}),
);
app.post(
  '/invites',
  [body('email').isEmail(), body('days').isInt({ min: 1, max: 30 }), body('note').optional().isLength({ max: 200 })],
  (req, res) => {
    const { email, days, note } = req.body;
    res.status(201).json({ email, days, note });
  },
);
