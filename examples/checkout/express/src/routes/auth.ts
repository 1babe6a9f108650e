import { Request, Response, Router } from 'express';
import jwt from 'jsonwebtoken';
import { JWT_SECRET, TOKEN_TTL_SECONDS } from '../middleware/authenticate';
import { ErrorResponse, LoginRequest, LoginResponse } from '../types';

export const authRouter = Router();

/** POST /api/auth/login: user1 … user1000, password "secret". */
authRouter.post('/login', (req: Request<{}, LoginResponse | ErrorResponse, LoginRequest>, res: Response<LoginResponse | ErrorResponse>) => {
  const { username, password } = req.body;
  if (!username || !password) {
    res.status(400).json({ error: 'username and password are required' });
    return;
  }
  const match = /^user([1-9][0-9]{0,2}|1000)$/.exec(username);
  if (!match || password !== 'secret') {
    res.status(401).json({ error: 'invalid username or password' });
    return;
  }
  const token = jwt.sign({ uid: Number(match[1]) }, JWT_SECRET, {
    algorithm: 'HS256',
    subject: username,
    issuer: 'checkout',
    expiresIn: TOKEN_TTL_SECONDS,
  });
  res.json({ token, token_type: 'Bearer', expires_in: TOKEN_TTL_SECONDS });
});
