import { Router, RequestHandler } from 'express';

/** Membership tiers. */
enum Tier { Basic = 'basic', Plus = 'plus', Premium = 'premium' }

interface Address {
  street: string;
  /** @pattern ^[0-9]{5}$ */
  zip: string;
}

interface MemberBase {
  id: string;
  /** @format email */
  email: string;
  name: string;
  tier: Tier;
  address?: Address;
  /** @minimum 0 @maximum 5 */
  rating?: number;
}

/** What POST /members takes: everything but the id, with a referrer. */
type NewMember = Omit<MemberBase, 'id'> & {
  /** Books per month.
   * @minimum 1
   * @maximum 20
   */
  monthly_quota: number;
  interests: Array<'fiction' | 'science' | 'history'>;
  referrer?: MemberBase;
};

const createMember: RequestHandler<{}, MemberBase, NewMember> = async (req, res) => {
  res.status(201).json({ ...req.body, id: 'm1' } as MemberBase);
};

export function makeMembersRouter() {
  const members = Router();
  members.post('/', createMember);
  members.patch('/:memberId', (req, res) => {
    const patch = req.body as Partial<NewMember>;
    res.json(patch);
  });
  return members;
}
