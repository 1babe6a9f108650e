import { Router } from 'express';
import { PostsController } from '@/controllers/posts.controller';

export class PostsRoute {
  public path = '/posts';
  public router = Router();
  private posts = new PostsController();

  constructor() {
    this.initializeRoutes();
  }

  private initializeRoutes() {
    this.router.get(`${this.path}`, this.posts.list);
    this.router.get(`${this.path}/:id(\\d+)`, this.posts.get);
    this.router.post(this.path, this.posts.create);
    this.router.delete(this.path + '/:id(\\d+)', this.posts.remove);
  }
}
