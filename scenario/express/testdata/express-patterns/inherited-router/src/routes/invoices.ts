import { Routes } from './base';

class InvoiceRoutes extends Routes {
  protected register(): void {
    this.router.get('/', (req, res) => res.json([]));
    this.router.post('/:invoiceId/pay', (req, res) => res.json({}));
  }
}

const invoices = new InvoiceRoutes();
export default invoices.build();
