"""Thousands of projection rows written with one statement, whatever their number.

The ORM's bulk_create and bulk_update bind one parameter per value and build
the SQL in Python, which for a batch of a thousand custody events cost more
than everything else in the request. On PostgreSQL each column travels here as
one array parameter that the server unnests. Other databases get the ORM's
bulk_create and an UPDATE ... FROM (VALUES ...), which are plenty for them.

Columns are named by attribute (`batch_id`, not `batch`); values are what
the model fields hold.
"""

from collections.abc import Sequence

from django.db import connection, models

UPDATE_CHUNK = 1_000  # rows per UPDATE ... FROM (VALUES ...) off PostgreSQL


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(column) for column in columns]


def _name(field: models.Field) -> str:
    return connection.ops.quote_name(field.column)  # such as "returning"


def _unnest(fields: list[models.Field]) -> str:
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in fields)
    names = ", ".join(_name(field) for field in fields)
    return f"unnest({arrays}) AS v({names})"


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[tuple],
    *,
    returning: Sequence[str] = (),
) -> list[tuple]:
    """INSERT `rows` (tuples in the order of `columns`); the `returning`
    columns of each inserted row, in no particular order."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs)
        return [tuple(getattr(obj, name) for name in returning) for obj in objs]
    fields = _fields(model, columns)
    names = ", ".join(_name(field) for field in fields)
    sql = f"INSERT INTO {model._meta.db_table} ({names}) SELECT * FROM {_unnest(fields)}"  # noqa: S608
    if returning:
        sql += " RETURNING " + ", ".join(_name(f) for f in _fields(model, returning))
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(values) for values in zip(*rows, strict=True)])
        return [tuple(row) for row in cursor.fetchall()] if returning else []


def update_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """UPDATE the rows whose primary key is each row's first value, setting
    the other `columns` to the row's other values."""
    if not rows:
        return
    fields = _fields(model, columns)
    table, key = model._meta.db_table, _name(fields[0])
    sets = ", ".join(f"{_name(f)} = v.{_name(f)}" for f in fields[1:])
    if connection.vendor == "postgresql":
        sql = f"UPDATE {table} SET {sets} FROM {_unnest(fields)} WHERE {table}.{key} = v.{key}"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [list(values) for values in zip(*rows, strict=True)])
        return
    names = ", ".join(_name(f) for f in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(rows), UPDATE_CHUNK):
        chunk = rows[start : start + UPDATE_CHUNK]
        values = ", ".join([placeholders] * len(chunk))
        params = [
            field.get_db_prep_value(value, connection)
            for row in chunk
            for field, value in zip(fields, row, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH v({names}) AS (VALUES {values})"  # noqa: S608
                f" UPDATE {table} SET {sets} FROM v WHERE {table}.{key} = v.{key}",
                params,
            )
