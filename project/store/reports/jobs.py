"""Report jobs, run by the RQ worker inside the app context."""

import logging
from datetime import UTC, date, datetime

from project.store.reports import repository

log = logging.getLogger(__name__)


def generate_sales_report(since=None, until=None):
    """Compute a sales report; the result is JSON-ready (decimals as strings)."""
    totals, top = repository.sales_summary(
        since=date.fromisoformat(since) if since else None,
        until=date.fromisoformat(until) if until else None,
    )
    log.info("sales report computed: %s orders", totals["orders"])
    return {
        "kind": "sales",
        "since": since,
        "until": until,
        "generated_at": datetime.now(UTC).isoformat(),
        "orders": totals["orders"],
        "units": int(totals["units"]),
        "revenue": f"{totals['revenue']:.2f}",
        "top_products": [
            {"product_id": row["product_id"], "name": row["product_name"], "units": int(row["units"]),
             "revenue": f"{row['revenue']:.2f}"}
            for row in top
        ],
    }
