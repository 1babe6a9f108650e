module.exports = {
  list(req, res) {
    res.json([{ isbn: '978-0', title: 't' }]);
  },
  create: async (req, res) => {
    const { title, author, pages, isbn } = req.body;
    if (req.body.published_year) {}
    res.status(201).json({ isbn, title });
  },
  show(req, res) { res.json({ isbn: req.params.isbn }); },
  remove(req, res) { res.sendStatus(204); },
};
