"""woosync's Tryton connector module.

Installed into the ERP (activated with ``trytond-admin -u woosync``), it adds what the
adapter needs and Tryton lacks:

- ``woosync_reference`` on sales and invoices, unique in the database, so the ERP itself
  refuses a second document for the same store order or refund (``woo:<store>:<id>``,
  ``woo:<store>:refund:<id>``), and reset on copy so that a return sale made from a sale
  gets its refund's reference instead of the order's;
- ``woosync_discountable`` on product templates: whether the stores may discount the
  product (promotional eligibility, sent to the stores with the product);
- ``woosync.feed``, read-only RPC calls for the change feed: the server clock,
  on-hand and forecast quantities per warehouse for a list of SKUs, stamped with the
  server time of the read, and each product's sale prices in the ERP's dated price
  lists (``product_price_list_dates``).
"""
