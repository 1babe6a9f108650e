import express from 'express';

interface Mountable {
  router: express.Router;
}

export class Server {
  public app: express.Application;

  constructor(routes: Mountable[]) {
    this.app = express();
    this.app.use(express.json());
    this.mount(routes);
  }

  private mount(routes: Mountable[]) {
    routes.forEach((r) => {
      this.app.use('/', r.router);
    });
  }
}
