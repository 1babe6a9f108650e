import { Request, Response } from 'express';

interface NewPost {
  title: string;
  body: string;
}

export class PostsController {
  public list = (req: Request, res: Response) => res.json([]);
  public get = (req: Request, res: Response) => res.json({});
  public create = (req: Request<{}, {}, NewPost>, res: Response) => res.status(201).json({ id: 1 });
  public remove = (req: Request, res: Response) => res.sendStatus(204);
}
