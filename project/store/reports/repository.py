"""SQL for sales reports."""

from project import db


def sales_summary(*, since=None, until=None):
    """Orders, units and revenue between ``since`` and ``until`` (dates, inclusive), and the top products."""
    bounds = ("(%(since)s::date IS NULL OR o.created_at >= %(since)s::date)"
              " AND (%(until)s::date IS NULL OR o.created_at < %(until)s::date + 1)")
    params = {"since": since, "until": until}
    with db.connection() as conn:
        totals = conn.execute(
            "SELECT count(DISTINCT o.id) AS orders, coalesce(sum(i.quantity), 0) AS units,"  # noqa: S608 - constant
            " coalesce(sum(i.quantity * i.unit_price), 0) AS revenue"
            f" FROM orders o LEFT JOIN order_items i ON i.order_id = o.id WHERE {bounds}",
            params,
        ).fetchone()
        top = conn.execute(
            "SELECT i.product_id, i.product_name, sum(i.quantity) AS units,"  # noqa: S608 - constant
            " sum(i.quantity * i.unit_price) AS revenue"
            f" FROM orders o JOIN order_items i ON i.order_id = o.id WHERE {bounds}"
            " GROUP BY i.product_id, i.product_name ORDER BY units DESC, i.product_id LIMIT 10",
            params,
        ).fetchall()
    return totals, top
