"""Tryton's half of the ERP commands: canonical commands in, Tryton documents out.

Idempotency has two guards: the agent hands commands of one order to this code one at
a time (they are keyed by order id), and Tryton itself refuses a second sale or invoice
with the same ``woosync_reference`` (the project's connector module). A command first
looks its document up by that reference; if it exists, the command drives it on to the
state it asks for (a crash between create and confirm is finished by the retry) and
reports a duplicate. If a concurrent duplicate wins the create, the constraint error is
turned back into "found it".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.codec import Message
from streams.erp.adapter import CommandRejected, ErpUnavailable, Outcome
from streams.erp.tryton_rpc import TrytonClient, TrytonUnavailable, TrytonUserError
from streams.woo.ids import customer_id as customer_ref


class TrytonCommands:
    def __init__(self, client: TrytonClient, payment_term: int | None = None) -> None:
        self.client = client
        self.payment_term = payment_term
        self._warehouses: dict[str, int] = {}

    async def execute(self, command: Message) -> Outcome:
        handlers = {
            "CreateSalesOrder": self.create_sales_order,
            "CancelSalesOrder": self.cancel_sales_order,
            "CreateCreditNote": self.create_credit_note,
            "UpsertParty": self.upsert_party,
        }
        handler = handlers.get(command.short_name)
        if handler is None:
            raise CommandRejected(f"{command.name} is not an ERP command")
        try:
            return await handler(command.body)
        except TrytonUnavailable as exc:
            raise ErpUnavailable(str(exc)) from exc

    # -- sales orders -------------------------------------------------------------

    async def create_sales_order(self, cmd: dict[str, Any]) -> Outcome:
        existing = await self._sale_by_reference(cmd["order_id"])
        if existing is not None:
            await self._confirm(existing)
            return Outcome(str(existing["id"]), duplicate=True)
        values = await self._sale_values(cmd)
        try:
            sale_id, = await self.client.model("sale.sale", "create", [values])
        except TrytonUserError:
            # A concurrent delivery of the same command may have created it first.
            existing = await self._sale_by_reference(cmd["order_id"])
            if existing is None:
                raise
            await self._confirm(existing)
            return Outcome(str(existing["id"]), duplicate=True)
        await self._confirm({"id": sale_id, "state": "draft"})
        return Outcome(str(sale_id))

    async def _confirm(self, sale: dict[str, Any]) -> None:
        """Drive the sale to confirmed. Another delivery of the same command may be
        driving it at the same moment: a workflow refusal is then re-read, not raised."""
        for _attempt in range(4):
            try:
                if sale["state"] == "draft":
                    await self.client.model("sale.sale", "quote", [sale["id"]])
                    sale = {**sale, "state": "quotation"}
                if sale["state"] == "quotation":
                    await self.client.model("sale.sale", "confirm", [sale["id"]],
                                            skip_warnings=True)
                return
            except TrytonUserError:
                read = await self.client.model("sale.sale", "read", [sale["id"]], ["state"])
                if read[0]["state"] == sale["state"]:
                    raise  # nobody else moved it on: the refusal is real
                sale = {**sale, "state": read[0]["state"]}
        raise CommandRejected(f"sale {sale['id']} could not be confirmed")

    async def cancel_sales_order(self, cmd: dict[str, Any]) -> Outcome:
        """Cancel the order's sale before it ships. A draft, quotation or confirmed sale
        is cancelled as such. A processing sale (its shipment and invoice exist) has its
        waiting shipments and draft invoices cancelled and those cancellations accepted
        on the sale (Tryton's exception handling, 'ignore'), so that nothing is shipped
        or billed and the sale completes. Once anything shipped, or an invoice is
        posted, the ERP must return or credit it: refused with that reason."""
        sale = await self._sale_by_reference(cmd["order_id"])
        if sale is None:
            # Nothing to cancel: the order never reached the ERP (or was never created).
            return Outcome(None, duplicate=True)
        state = sale["state"]
        if state == "cancelled":
            return Outcome(str(sale["id"]), duplicate=True)
        if state in ("processing", "done"):
            return await self._cancel_processing(sale, cmd)
        if state == "confirmed":
            await self.client.model("sale.sale", "draft", [sale["id"]])
        await self.client.model("sale.sale", "cancel", [sale["id"]])
        return Outcome(str(sale["id"]))

    async def _cancel_processing(self, sale: dict[str, Any], cmd: dict[str, Any]) -> Outcome:
        read = await self.client.model("sale.sale", "read", [sale["id"]],
                                       ["shipments", "invoices"])
        shipments = await self.client.model("stock.shipment.out", "read",
                                            read[0]["shipments"], ["state"])
        invoices = await self.client.model("account.invoice", "read", read[0]["invoices"],
                                           ["state"])
        if any(s["state"] == "done" for s in shipments):
            raise CommandRejected(f"sale {sale['id']} for {cmd['order_id']} has shipped:"
                                  " return the goods in the ERP instead")
        if any(i["state"] in ("posted", "paid") for i in invoices):
            raise CommandRejected(f"sale {sale['id']} for {cmd['order_id']} is invoiced:"
                                  " credit the invoice in the ERP instead")
        live = [s["id"] for s in shipments if s["state"] != "cancelled"]
        if live:
            await self.client.model("stock.shipment.out", "cancel", live)
        drafts = [i["id"] for i in invoices if i["state"] != "cancelled"]
        if drafts:
            await self.client.model("account.invoice", "cancel", drafts)
        if not live and not drafts:
            return Outcome(str(sale["id"]), duplicate=True)
        await self._accept_cancellations(sale["id"])
        return Outcome(str(sale["id"]))

    async def _accept_cancellations(self, sale_id: int) -> None:
        """Tell the sale its cancelled moves and invoices are meant (ignored, not
        recreated), so it does not wait on them in exception."""
        moves = await self.client.model("stock.move", "search",
                                        [("sale", "=", sale_id), ("state", "=", "cancelled")],
                                        0, None, None)
        if moves:
            await self.client.wizard("sale.handle.shipment.exception", "sale.sale", [sale_id],
                                     [("handle", {"ask": {"recreate_moves": [],
                                                          "ignore_moves": moves,
                                                          "domain_moves": moves}})])
        invoices = await self.client.model(
            "account.invoice", "search",
            [("sales", "=", sale_id), ("state", "=", "cancelled")], 0, None, None)
        if invoices:
            await self.client.wizard("sale.handle.invoice.exception", "sale.sale", [sale_id],
                                     [("handle", {"ask": {"recreate_invoices": [],
                                                          "ignore_invoices": invoices,
                                                          "domain_invoices": invoices}})])

    async def _sale_by_reference(self, reference: str) -> dict[str, Any] | None:
        found = await self.client.model(
            "sale.sale", "search_read", [("woosync_reference", "=", reference)], 0, 1, None,
            ["state", "invoices", "lines.product.code", "lines.quantity"])
        return found[0] if found else None

    async def _sale_values(self, cmd: dict[str, Any]) -> dict[str, Any]:
        products = await self._products([line["sku"] for line in cmd["lines"]])
        party, address = await self._customer(cmd["store"], cmd.get("customer_id") or 0,
                                              cmd["billing"], cmd["shipping"])
        lines = []
        for line in cmd["lines"]:
            product = products[line["sku"]]
            lines.append({
                "type": "line", "product": product["id"], "unit": product["default_uom"],
                "quantity": float(line["quantity"]), "unit_price": line["unit_price"],
                "description": line["description"] or line["sku"],
                "taxes": [["add", product["account_category."]["customer_taxes"]]],
            })
        if cmd["shipping_total"]:
            shipping = (await self._products(["SHIPPING"]))["SHIPPING"]
            lines.append({
                "type": "line", "product": shipping["id"], "unit": shipping["default_uom"],
                "quantity": 1.0, "unit_price": cmd["shipping_total"],
                "description": "Shipping",
                "taxes": [["add", shipping["account_category."]["customer_taxes"]]],
            })
        values: dict[str, Any] = {
            "party": party, "invoice_address": address, "shipment_address": address,
            "woosync_reference": cmd["order_id"], "reference": cmd["order_id"],
            "description": f"{cmd['store']} order {cmd['order_id'].rsplit(':', 1)[-1]}",
            "warehouse": await self._warehouse(cmd["warehouse"]),
            "invoice_method": "order", "shipment_method": "order",
            "lines": [["create", lines]],
        }
        values["payment_term"] = await self._payment_term()
        return values

    async def _payment_term(self) -> int | None:
        if self.payment_term is None:
            found = await self.client.model("account.invoice.payment_term", "search", [],
                                            0, 1, None)
            self.payment_term = found[0] if found else None
        return self.payment_term

    async def _products(self, skus: list[str]) -> dict[str, dict[str, Any]]:
        found = await self.client.model(
            "product.product", "search_read", [("code", "in", sorted(set(skus)))], 0, None,
            None, ["code", "default_uom", "account_category.customer_taxes"])
        by_code = {p["code"]: p for p in found}
        missing = sorted(set(skus) - set(by_code))
        if missing:
            raise CommandRejected(f"no ERP product with code {', '.join(missing)}")
        return by_code

    async def _warehouse(self, code: str) -> int:
        if code not in self._warehouses:
            found = await self.client.model(
                "stock.location", "search", [("type", "=", "warehouse"), ("code", "=", code)],
                0, 1, None)
            if not found:
                raise CommandRejected(f"no ERP warehouse with code {code!r}")
            self._warehouses[code] = found[0]
        return self._warehouses[code]

    async def _customer(self, store: str, customer_id: int, billing: dict[str, str],
                        shipping: dict[str, str]) -> tuple[int, int]:
        """The order's party and its shipping address. The party is found by the store's
        customer id (kept as a party identifier ``woo:<store>:customer:<id>``), then by
        e-mail; made on a first order. A guest (customer id 0) is matched by e-mail
        alone. An address the party does not have yet is added to it, so a customer who
        moves stays one party. Nothing personal is logged or put in errors."""
        email = billing.get("email") or ""
        identifier = customer_ref(store, customer_id) if customer_id else None
        address = _address_of(shipping)
        for attempt in range(3):
            party = await self._party(identifier, email)
            if party is not None:
                break
            name = (" ".join(p for p in (billing["first_name"], billing["last_name"]) if p)
                    or billing["company"] or email or "Web customer")
            try:
                party, = await self.client.model("party.party", "create", [{
                    "name": name, "addresses": [["create", [address]]],
                    "contact_mechanisms": [["create", [{"type": "email", "value": email}]
                                            if email else []]],
                    "identifiers": [["create", [{"code": identifier}] if identifier
                                     else []]],
                }])
                break
            except TrytonUserError as exc:
                # Two orders creating parties at once can draw the same party code from
                # Tryton's sequence (seen on SQLite): look again, then try again.
                if "unique" not in str(exc) or attempt == 2:
                    raise
        assert party is not None
        return party, await self._address(party, address)

    async def upsert_party(self, cmd: dict[str, Any]) -> Outcome:
        """A store customer's party, made or found (by customer id, then e-mail), with
        its billing and shipping addresses (each added once)."""
        party, _ = await self._customer(cmd["store"], cmd["woo_id"], cmd["billing"],
                                        cmd["shipping"])
        billing = cmd["billing"]
        if billing.get("address_1") or billing.get("city"):
            await self._address(party, _address_of(billing))
        return Outcome(f"party.party:{party}")

    async def _party(self, identifier: str | None, email: str) -> int | None:
        if identifier is not None:
            found = await self.client.model(
                "party.identifier", "search_read", [("code", "=", identifier)], 0, 1, None,
                ["party"])
            if found:
                return int(found[0]["party"])
        if not email:
            return None
        parties = await self.client.model(
            "party.party", "search", [("contact_mechanisms.value", "=", email)], 0, 1,
            [("id", "ASC")])
        if not parties:
            return None
        if identifier is not None:  # known by e-mail: now by its store customer id too
            await self.client.model("party.identifier", "create",
                                    [{"party": parties[0], "code": identifier}])
        return int(parties[0])

    async def _address(self, party: int, address: dict[str, str]) -> int:
        """The party's address equal to ``address``, added when it has none."""
        known = await self.client.model(
            "party.address", "search_read", [("party", "=", party)], 0, None,
            [("id", "ASC")], ["street", "city", "postal_code"])
        for row in known:
            if all((row.get(k) or "") == (v or "") for k, v in address.items()):
                return int(row["id"])
        await self.client.model("party.party", "write", [party],
                                {"addresses": [["create", [address]]]})
        return await self._address(party, address)

    # -- refunds -----------------------------------------------------------------

    async def create_credit_note(self, cmd: dict[str, Any]) -> Outcome:
        refund_id = cmd["refund_id"]
        done = await self._refund_document(refund_id)
        if done is not None:
            # Tagged first, so an earlier attempt may have stopped anywhere after the
            # tag: drive the document on to where a whole attempt would have left it.
            await self._finish_refund_document(done, cmd)
            return Outcome(done, duplicate=True)
        sale = await self._sale_by_reference(cmd["order_id"])
        if sale is None:
            # The order's row sends a credit note only once it has seen the sale: a
            # missing sale is not an outage to wait out (that would hold every command
            # behind the breaker) but a refusal.
            raise CommandRejected(f"no ERP sale for {cmd['order_id']}")
        if cmd["restock"] and cmd["lines"]:
            return Outcome(await self._return_sale(sale, cmd))
        return Outcome(await self._credit_invoice(sale, cmd))

    async def _refund_document(self, refund_id: str) -> str | None:
        for model in ("sale.sale", "account.invoice"):
            found = await self.client.model(
                model, "search", [("woosync_reference", "=", refund_id)], 0, 1, None)
            if found:
                return f"{model}:{found[0]}"
        return None

    async def _finish_refund_document(self, document: str, cmd: dict[str, Any]) -> None:
        model, _, raw_id = document.partition(":")
        if model == "sale.sale":
            read = await self.client.model("sale.sale", "read", [int(raw_id)], ["state"])
            await self._confirm({"id": int(raw_id), "state": read[0]["state"]})
            await self._post_return_credit(int(raw_id), cmd)
            return
        read = await self.client.model("account.invoice", "read", [int(raw_id)], ["state"])
        if read[0]["state"] == "draft":
            await self._credit_exactly(int(raw_id), cmd["amount"])
            await self.client.model("account.invoice", "post", [int(raw_id)])

    async def _return_sale(self, sale: dict[str, Any], cmd: dict[str, Any]) -> str:
        """Goods come back: Tryton's return sale (negative lines for the refunded
        quantities), confirmed, gives the return shipment and the credit note."""
        result = await self.client.wizard("sale.return_sale", "sale.sale", [sale["id"]],
                                          [("return_", {})])
        return_id = _opened_record(result)
        refunded: dict[str, Decimal] = {}
        for line in cmd["lines"]:
            refunded[line["sku"]] = refunded.get(line["sku"], Decimal(0)) + line["quantity"]
        lines = await self.client.model(
            "sale.sale", "read", [return_id], ["lines.product.code", "lines.quantity"])
        writes: list[Any] = []
        for line in lines[0]["lines."]:
            quantity = refunded.get((line.get("product.") or {}).get("code", ""))
            if not quantity:
                writes.append(["delete", [line["id"]]])
            else:
                writes.append(["write", [line["id"]], {"quantity": -float(quantity)}])
        try:
            await self.client.model("sale.sale", "write", [return_id], {
                "woosync_reference": cmd["refund_id"], "reference": cmd["order_id"],
                "lines": writes,
                "description": f"refund {cmd['refund_id']}"})
        except TrytonUserError:
            await self.client.model("sale.sale", "delete", [return_id])
            raise
        await self._confirm({"id": return_id, "state": "draft"})
        await self._post_return_credit(return_id, cmd)
        return f"sale.sale:{return_id}"

    async def _post_return_credit(self, return_id: int, cmd: dict[str, Any]) -> None:
        """The credit note the return sale produced carries the refund's reference too
        (finance looks for credit notes), equals the refund, and is posted."""
        read = await self.client.model("sale.sale", "read", [return_id], ["invoices"])
        invoices = await self.client.model("account.invoice", "read", read[0]["invoices"],
                                           ["state", "woosync_reference"])
        for invoice in invoices:
            if invoice["state"] != "draft":
                continue
            if invoice["woosync_reference"] != cmd["refund_id"]:
                await self.client.model("account.invoice", "write", [invoice["id"]], {
                    "woosync_reference": cmd["refund_id"], "reference": cmd["order_id"],
                    "description": f"refund {cmd['refund_id']}"})
            await self._credit_exactly(invoice["id"], cmd["amount"])
            await self.client.model("account.invoice", "post", [invoice["id"]])

    async def _credit_exactly(self, credit_id: int, amount: Decimal) -> None:
        """Make the credit note's total (tax included) equal the refund, to the cent.

        Scaling every credited unit price by refund / invoice total (4 decimals) gets
        within a cent or two, because Tryton rounds each line and its tax to the cent;
        the largest line then takes up the difference. Lines are written through the
        invoice so that Tryton recomputes its taxes. Some totals cannot be reached that
        way at all (a 20 % tax rounded on the whole document skips some cents): the last
        cent then goes on a tax-free rounding line."""
        for attempt in range(5):
            credit, lines = await self._credit_read(credit_id)
            credited = -(credit["untaxed_amount"] + credit["tax_amount"])
            if credited == amount or not lines:
                return
            if attempt == 0:
                ratio = amount / credited if credited else Decimal(1)
                updates = {line["id"]: line["unit_price"] * ratio for line in lines}
            else:
                biggest = _biggest(lines)
                rate = (credit["tax_amount"] / credit["untaxed_amount"]
                        if credit["untaxed_amount"] else Decimal(0))
                quantity = abs(Decimal(str(biggest["quantity"]))) or Decimal(1)
                updates = {biggest["id"]: biggest["unit_price"]
                           + (amount - credited) / (quantity * (1 + rate))}
            await self.client.model("account.invoice", "write", [credit_id], {"lines": [
                ["write", [line_id], {"unit_price": price.quantize(Decimal("0.0001"))}]
                for line_id, price in updates.items()]})
        credit, lines = await self._credit_read(credit_id)
        left = amount + credit["untaxed_amount"] + credit["tax_amount"]
        if left and abs(left) <= Decimal("0.05"):
            biggest = _biggest(lines)
            sign = -1 if Decimal(str(biggest["quantity"])) < 0 else 1
            await self.client.model("account.invoice", "write", [credit_id], {"lines": [
                ["create", [{"type": "line", "account": biggest["account"],
                             "description": "Rounding", "quantity": float(sign),
                             "unit_price": left, "taxes": []}]]]})
            credit, lines = await self._credit_read(credit_id)
            left = amount + credit["untaxed_amount"] + credit["tax_amount"]
        if left:
            raise CommandRejected(f"credit note {credit_id} could not be made equal to"
                                  f" {amount} ({left} off)")

    async def _credit_read(self, credit_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        read = await self.client.model("account.invoice", "read", [credit_id],
                                       ["untaxed_amount", "tax_amount", "lines"])
        lines = await self.client.model("account.invoice.line", "read", read[0]["lines"],
                                        ["unit_price", "quantity", "account", "taxes"])
        return read[0], [line for line in lines if line["taxes"]] or lines

    async def _credit_invoice(self, sale: dict[str, Any], cmd: dict[str, Any]) -> str:
        """No goods back: credit the order's invoice for the refunded amount."""
        invoices = await self.client.model(
            "account.invoice", "search_read",
            [("id", "in", sale["invoices"]), ("type", "=", "out"), ("total_amount", ">", 0)],
            0, None, None, ["state"])
        if not invoices:
            raise CommandRejected(f"the sale for {cmd['order_id']} has no invoice to credit")
        invoice = invoices[0]
        if invoice["state"] == "draft":
            await self.client.model("account.invoice", "post", [invoice["id"]])
        result = await self.client.wizard(
            "account.invoice.credit", "account.invoice", [invoice["id"]],
            [("credit", {"start": {"with_refund": False}})])
        credit_id = _opened_record(result)
        # Tagged before any step that can fail, so that a retry finds it and finishes it
        # (create_credit_note) instead of crediting the invoice a second time.
        try:
            await self.client.model("account.invoice", "write", [credit_id], {
                "woosync_reference": cmd["refund_id"], "reference": cmd["order_id"],
                "description": cmd["reason"][:100]})
        except TrytonUserError:
            await self.client.model("account.invoice", "delete", [credit_id])
            raise
        await self._credit_exactly(credit_id, cmd["amount"])
        await self.client.model("account.invoice", "post", [credit_id])
        return f"account.invoice:{credit_id}"


def _biggest(lines: list[dict[str, Any]]) -> dict[str, Any]:
    return max(lines, key=lambda ln: abs(ln["unit_price"] * Decimal(str(ln["quantity"]))))


def _opened_record(wizard_result: Any) -> int:
    """The id of the record a wizard opened (its first action's res_id)."""
    for action in (wizard_result or {}).get("actions", []):
        # Each action is [action definition, data]; data carries res_id.
        parts = action if isinstance(action, list | tuple) else [action]
        for part in parts:
            res_id = part.get("res_id") if isinstance(part, dict) else None
            if isinstance(res_id, list) and res_id:
                return int(res_id[0])
            if isinstance(res_id, int):
                return res_id
    raise CommandRejected(f"the wizard opened no record: {wizard_result!r}")


def _address_of(address: dict[str, str]) -> dict[str, str]:
    """A store address as a Tryton party address."""
    return {"street": "\n".join(p for p in (address["address_1"], address["address_2"]) if p),
            "city": address["city"], "postal_code": address["postcode"]}
