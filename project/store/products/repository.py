"""SQL for the product catalogue."""

import psycopg
from psycopg import sql

from project import db

COLUMNS = sql.SQL("id, name, description, category, price, stock")
SORT_COLUMNS = {"id": "id", "name": "lower(name)", "price": "price"}
UPDATABLE = ("name", "description", "category", "price", "stock")


class DuplicateName(Exception):
    """Another product has this name (names are unique, case-insensitive)."""


def _filters(category, q):
    clauses, params = [], []
    if category is not None:
        clauses.append(sql.SQL("category = %s"))
        params.append(category)
    if q is not None:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append(sql.SQL("name ILIKE %s"))
        params.append(f"%{escaped}%")
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(clauses) if clauses else sql.SQL("")
    return where, params


def list_products(*, limit, offset, category=None, q=None, sort="id"):
    """One page of products and the total that match the filters."""
    where, params = _filters(category, q)
    column = SORT_COLUMNS[sort.lstrip("-")]
    direction = "DESC" if sort.startswith("-") else "ASC"
    order = sql.SQL(f"{column} {direction}, id {direction}")  # both from fixed lists above
    with db.connection() as conn:
        rows = conn.execute(
            sql.SQL("SELECT {} FROM products{} ORDER BY {} LIMIT %s OFFSET %s").format(COLUMNS, where, order),
            [*params, limit, offset],
        ).fetchall()
        total = conn.execute(sql.SQL("SELECT count(*) AS n FROM products{}").format(where), params).fetchone()["n"]
    return rows, total


def get_product(*, product_id):
    """The product, or None."""
    return db.fetch_one(sql.SQL("SELECT {} FROM products WHERE id = %s").format(COLUMNS), (product_id,))


def create_product(*, name, description, category, price, stock, conn=None):
    """Insert a product and return it; raise DuplicateName when the name is taken."""
    try:
        return db.fetch_one(
            sql.SQL("INSERT INTO products (name, description, category, price, stock)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING {}").format(COLUMNS),
            (name, description, category, price, stock),
            conn=conn,
        )
    except psycopg.errors.UniqueViolation:
        raise DuplicateName(name) from None


def update_product(*, product_id, changes):
    """Apply ``changes`` (a subset of the updatable fields); return the product or None."""
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(sql.Identifier(field)) for field in UPDATABLE if field in changes
    )
    values = [changes[field] for field in UPDATABLE if field in changes]
    try:
        return db.fetch_one(
            sql.SQL("UPDATE products SET {}, updated_at = now() WHERE id = %s RETURNING {}").format(
                assignments, COLUMNS),
            [*values, product_id],
        )
    except psycopg.errors.UniqueViolation:
        raise DuplicateName(changes["name"]) from None


def delete_product(*, product_id):
    """Delete the product; True when it existed. Past orders keep its name and price."""
    return db.fetch_one("DELETE FROM products WHERE id = %s RETURNING id", (product_id,)) is not None
