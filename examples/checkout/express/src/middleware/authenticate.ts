import { NextFunction, Request, Response } from 'express';
import jwt from 'jsonwebtoken';
import { ErrorResponse, TokenClaims } from '../types';

export const JWT_SECRET = process.env.CHECKOUT_JWT_SECRET ?? 'checkout-dev-secret';
export const TOKEN_TTL_SECONDS = 15 * 60;

/** The user a verified token was issued to, set by authenticate. */
export interface AuthLocals {
  userId: number;
}

/**
 * Rejects requests without a valid "Authorization: Bearer <token>" (401).
 * Generic so that it composes with handlers of any typed route.
 */
export function authenticate<P, ResBody>(
  req: Request<P, ResBody | ErrorResponse>,
  res: Response<ResBody | ErrorResponse, AuthLocals>,
  next: NextFunction,
): void {
  const header = req.header('authorization') ?? '';
  if (!header.startsWith('Bearer ')) {
    res.status(401).json({ error: 'missing bearer token' });
    return;
  }
  try {
    const claims = jwt.verify(header.slice('Bearer '.length), JWT_SECRET, {
      algorithms: ['HS256'],
      issuer: 'checkout',
    }) as jwt.JwtPayload & TokenClaims;
    res.locals.userId = claims.uid;
    next();
  } catch (err) {
    const expired = err instanceof jwt.TokenExpiredError;
    res.status(401).json({ error: expired ? 'token expired' : 'invalid token' });
  }
}
