// A plain JavaScript Express app: CommonJS modules, a router factory,
// unknown middleware and passport.
const express = require('express');
const passport = require('passport');
const rateLimit = require('./ratelimit');
const booksRouter = require('./routes/books');
const { makeMembersRouter } = require('./routes/members');

const app = express();
const PORT = process.env.PORT || 3000;

app.use(express.json());
app.post('/sessions', (req, res) => {
  const { email, password } = req.body;
  res.status(201).json({ accessToken: 'x', expiresIn: 3600 });
});
app.use('/books', rateLimit, booksRouter);
app.use('/members', passport.authenticate('jwt', { session: false }), makeMembersRouter());
app.get(`/status/${PORT}`, (req, res) => res.send('ok'));

app.listen(PORT, () => console.log('listening'));
