"""woosync's Tryton connector module.

Installed into the ERP (activated with ``trytond-admin -u woosync``), it adds what the
adapter needs and Tryton lacks:

- ``woosync_reference`` on sales and invoices, unique in the database, so the ERP itself
  refuses a second document for the same store order or refund (``woo:<store>:<id>``,
  ``woo:<store>:refund:<id>``), and reset on copy so that a return sale made from a sale
  gets its refund's reference instead of the order's;
- ``woosync.feed``, two read-only RPC calls for the change feed: the server clock, and
  on-hand and forecast quantities per warehouse for a list of SKUs, stamped with the
  server time of the read.
"""
