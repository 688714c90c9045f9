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
        sale = await self._sale_by_reference(cmd["order_id"])
        if sale is None:
            # Nothing to cancel: the order never reached the ERP (or was never created).
            return Outcome(None, duplicate=True)
        state = sale["state"]
        if state == "cancelled":
            return Outcome(str(sale["id"]), duplicate=True)
        if state in ("processing", "done"):
            raise CommandRejected(
                f"sale {sale['id']} for {cmd['order_id']} is {state}: its shipment and invoice"
                " exist, so it must be cancelled or returned in the ERP")
        if state == "confirmed":
            await self.client.model("sale.sale", "draft", [sale["id"]])
        await self.client.model("sale.sale", "cancel", [sale["id"]])
        return Outcome(str(sale["id"]))

    async def _sale_by_reference(self, reference: str) -> dict[str, Any] | None:
        found = await self.client.model(
            "sale.sale", "search_read", [("woosync_reference", "=", reference)], 0, 1, None,
            ["state", "invoices", "lines.product.code", "lines.quantity"])
        return found[0] if found else None

    async def _sale_values(self, cmd: dict[str, Any]) -> dict[str, Any]:
        products = await self._products([line["sku"] for line in cmd["lines"]])
        party, address = await self._customer(cmd["billing"], cmd["shipping"])
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

    async def _customer(self, billing: dict[str, str], shipping: dict[str, str]
                        ) -> tuple[int, int]:
        """The party of this e-mail address (made on first order) and an address."""
        email = billing.get("email") or ""
        name = (" ".join(p for p in (billing["first_name"], billing["last_name"]) if p)
                or billing["company"] or email or "Web customer")
        street = "\n".join(p for p in (shipping["address_1"], shipping["address_2"]) if p)
        address = {"street": street, "city": shipping["city"],
                   "postal_code": shipping["postcode"]}
        mechanisms = [{"type": "email", "value": email}] if email else []
        for attempt in range(3):
            if email:
                found = await self.client.model(
                    "party.party", "search_read", [("contact_mechanisms.value", "=", email)],
                    0, 1, None, ["addresses"])
                if found and found[0]["addresses"]:
                    return found[0]["id"], found[0]["addresses"][0]
            try:
                party_id, = await self.client.model("party.party", "create", [{
                    "name": name, "addresses": [["create", [address]]],
                    "contact_mechanisms": [["create", mechanisms]],
                }])
                break
            except TrytonUserError as exc:
                # Two orders creating parties at once can draw the same party code from
                # Tryton's sequence (seen on SQLite): look again, then try again.
                if "unique" not in str(exc) or attempt == 2:
                    raise
        read = await self.client.model("party.party", "read", [party_id], ["addresses"])
        return party_id, read[0]["addresses"][0]

    # -- refunds -----------------------------------------------------------------

    async def create_credit_note(self, cmd: dict[str, Any]) -> Outcome:
        refund_id = cmd["refund_id"]
        done = await self._refund_document(refund_id)
        if done is not None:
            return Outcome(done, duplicate=True)
        sale = await self._sale_by_reference(cmd["order_id"])
        if sale is None:
            # Retryable: the order's own CreateSalesOrder may still be on its way.
            raise ErpUnavailable(f"no ERP sale for {cmd['order_id']} yet")
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
        return f"sale.sale:{return_id}"

    async def _credit_invoice(self, sale: dict[str, Any], cmd: dict[str, Any]) -> str:
        """No goods back: credit the order's invoice for the refunded amount."""
        invoices = await self.client.model(
            "account.invoice", "search_read",
            [("id", "in", sale["invoices"]), ("type", "=", "out"), ("total_amount", ">", 0)],
            0, None, None, ["state"])
        if not invoices:
            raise ErpUnavailable(f"the sale for {cmd['order_id']} has no invoice yet")
        invoice = invoices[0]
        if invoice["state"] == "draft":
            await self.client.model("account.invoice", "post", [invoice["id"]])
        result = await self.client.wizard(
            "account.invoice.credit", "account.invoice", [invoice["id"]],
            [("credit", {"start": {"with_refund": False}})])
        credit_id = _opened_record(result)
        read = await self.client.model("account.invoice", "read", [credit_id],
                                       ["untaxed_amount", "tax_amount", "lines"])
        credit = read[0]
        total = -(credit["untaxed_amount"] + credit["tax_amount"])
        # Scale the credited lines so the note equals the refund (tax included).
        ratio = (cmd["amount"] / total) if total else Decimal(1)
        if ratio != 1:
            lines = await self.client.model("account.invoice.line", "read", credit["lines"],
                                            ["unit_price"])
            for line in lines:
                price = (line["unit_price"] * ratio).quantize(Decimal("0.0001"))
                await self.client.model("account.invoice.line", "write", [line["id"]],
                                        {"unit_price": price})
        try:
            await self.client.model("account.invoice", "write", [credit_id], {
                "woosync_reference": cmd["refund_id"], "reference": cmd["order_id"],
                "description": cmd["reason"][:100]})
        except TrytonUserError:
            await self.client.model("account.invoice", "delete", [credit_id])
            raise
        await self.client.model("account.invoice", "post", [credit_id])
        return f"account.invoice:{credit_id}"


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
