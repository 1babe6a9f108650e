import { Server } from '@/app';
import { PostsRoute } from '@routes/posts.route';
import { SessionRoute } from '@routes/session.route';

new Server([new PostsRoute(), new SessionRoute()]);
