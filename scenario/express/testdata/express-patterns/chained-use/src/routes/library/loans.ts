import express from 'express';

const loans = express.Router();
loans.get('/loans/:loanId', (req, res) => res.json({ id: req.params.loanId }));
loans.delete('/loans/:loanId', (req, res) => res.sendStatus(204));

export default loans;
