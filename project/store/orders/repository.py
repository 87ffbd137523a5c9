"""SQL for orders. Placing an order locks the product rows it takes stock from."""

from decimal import Decimal

from project import db
from project.errors import InsufficientStock, ValidationFailed

ORDER_COLUMNS = "id, user_id, status, total, created_at"
MAX_TOTAL = Decimal("9999999999.99")  # orders.total is numeric(12, 2)


def place_order(*, user_id, lines, conn=None):
    """Create an order for ``lines`` (product_id, quantity) in one transaction; return it.

    The product rows are locked (in id order, so concurrent orders cannot
    deadlock) before stock is checked and decremented: two orders can never
    sell the same unit. Unknown products and a total above MAX_TOTAL raise
    ValidationFailed; too little stock raises InsufficientStock, and nothing
    is changed. With ``conn`` (a connection inside a transaction) the order
    joins the caller's transaction, so what the caller writes commits with it.
    """
    if conn is None:  # its own transaction; the statements stay named ``orders.place_order`` in metrics
        with db.transaction() as own:
            return place_order(user_id=user_id, lines=lines, conn=own)
    wanted = {line["product_id"]: line["quantity"] for line in lines}
    rows = conn.execute(
        "SELECT id, name, category, price, stock FROM products WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
        (list(wanted),),
    ).fetchall()
    products = {row["id"]: row for row in rows}
    missing = [(i, pid) for i, pid in enumerate(wanted) if pid not in products]
    if missing:
        raise ValidationFailed("Some products do not exist.", errors=[
            {"field": f"/items/{i}/product_id", "message": f"No product {pid}.", "in": "json"}
            for i, pid in missing])
    short = [(i, pid, products[pid]["stock"]) for i, (pid, qty) in enumerate(wanted.items())
             if products[pid]["stock"] < qty]
    if short:
        raise InsufficientStock(
            "Not enough stock: " + ", ".join(f"product {pid} has {stock} left" for _, pid, stock in short),
            errors=[{"field": f"/items/{i}/quantity", "message": f"Only {stock} left of product {pid}.",
                     "in": "json", "available": stock} for i, pid, stock in short])
    total = sum(products[pid]["price"] * qty for pid, qty in wanted.items())
    if total > MAX_TOTAL:
        raise ValidationFailed(f"The order total {total} exceeds the maximum of {MAX_TOTAL}; split the order.",
                               errors=[{"field": "/items", "message": "The order total is too large.",
                                        "in": "json"}])
    cur = conn.cursor()
    cur.executemany("UPDATE products SET stock = stock - %s, updated_at = now() WHERE id = %s",
                    [(qty, pid) for pid, qty in wanted.items()])
    order = conn.execute(
        f"INSERT INTO orders (user_id, total) VALUES (%s, %s) RETURNING {ORDER_COLUMNS}",  # noqa: S608
        (user_id, total),
    ).fetchone()
    cur.executemany(
        "INSERT INTO order_items (order_id, product_id, product_name, quantity, unit_price)"
        " VALUES (%s, %s, %s, %s, %s)",
        [(order["id"], pid, products[pid]["name"], qty, products[pid]["price"]) for pid, qty in wanted.items()],
    )
    order["items"] = [{"product_id": pid, "product_name": products[pid]["name"], "quantity": qty,
                       "unit_price": products[pid]["price"], "category": products[pid]["category"]}
                      for pid, qty in wanted.items()]
    return order


def _with_items(conn, orders):
    """Attach each order's lines (one query for the whole page)."""
    by_id = {order["id"]: order for order in orders}
    for order in orders:
        order["items"] = []
    if by_id:
        for item in conn.execute(
            "SELECT order_id, product_id, product_name, quantity, unit_price FROM order_items"
            " WHERE order_id = ANY(%s) ORDER BY id",
            (list(by_id),),
        ):
            by_id[item.pop("order_id")]["items"].append(item)
    return orders


def list_orders(*, user_id, limit, offset):
    """A page of orders, newest first: the user's own, or everyone's when ``user_id`` is None."""
    where, params = ("WHERE user_id = %s", [user_id]) if user_id is not None else ("", [])
    with db.connection() as conn:
        orders = conn.execute(
            f"SELECT {ORDER_COLUMNS} FROM orders {where} ORDER BY id DESC LIMIT %s OFFSET %s",  # noqa: S608
            [*params, limit, offset],
        ).fetchall()
        total = conn.execute(f"SELECT count(*) AS n FROM orders {where}", params).fetchone()["n"]  # noqa: S608
        return _with_items(conn, orders), total


def get_order(*, order_id):
    """The order with its lines, or None."""
    with db.connection() as conn:
        order = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders WHERE id = %s", (order_id,)).fetchone()  # noqa: S608
        return _with_items(conn, [order])[0] if order else None
