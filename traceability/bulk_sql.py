"""Thousands of projection rows written with one statement, whatever their number.

The ORM's bulk_create and bulk_update bind one parameter per value and build
the SQL in Python, which for a batch of a thousand custody events cost more
than everything else in the request. On PostgreSQL rows travel by COPY:
straight into the table for inserts, into a temporary table that one UPDATE
joins for updates. Rows that others must point to get their keys first, from
the table's sequence in one query. Other databases get the ORM's bulk_create
and an UPDATE ... FROM (VALUES ...), which are plenty for them.

Columns are named by attribute (`batch_id`, not `batch`); values are what
the model fields hold.
"""

from collections.abc import Sequence

from django.db import connection, models, transaction
from psycopg.types.json import Jsonb

UPDATE_CHUNK = 1_000  # rows per UPDATE ... FROM (VALUES ...) off PostgreSQL


def _fields(model: type[models.Model], columns: Sequence[str]) -> list[models.Field]:
    return [model._meta.get_field(column) for column in columns]


def _name(field: models.Field) -> str:
    return connection.ops.quote_name(field.column)  # such as "returning"


def _copy(table: str, fields: list[models.Field], rows) -> None:
    names = ", ".join(_name(field) for field in fields)
    json_columns = [i for i, field in enumerate(fields) if isinstance(field, models.JSONField)]
    with (
        connection.wrap_database_errors,  # IntegrityError and the like, as an INSERT raises
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(_json_adapted(row, json_columns) if json_columns else row)


def _json_adapted(row: tuple, columns: list[int]) -> list:
    """A JSONField's value as JSON text, as the ORM would write it (None is NULL)."""
    values = list(row)
    for i in columns:
        if values[i] is not None:
            values[i] = Jsonb(values[i])
    return values


def insert_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """INSERT `rows` (tuples in the order of `columns`)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(model(**dict(zip(columns, row, strict=True))) for row in rows)
        return
    _copy(model._meta.db_table, _fields(model, columns), rows)


def insert_rows_with_ids(
    model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]
) -> list[int]:
    """INSERT `rows` like insert_rows; the primary key of each, in the order of `rows`."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        model.objects.bulk_create(objs)
        return [obj.pk for obj in objs]
    table, key = model._meta.db_table, model._meta.pk
    with connection.cursor() as cursor:
        # The sequence looked up once, not once a row (that cost 6 us a key).
        cursor.execute(
            "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq)"
            " SELECT nextval(s.seq) FROM s, generate_series(1, %s)",
            [table, key.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    fields = [key, *_fields(model, columns)]
    _copy(table, fields, ((pk, *row) for pk, row in zip(ids, rows, strict=True)))
    return ids


def update_rows(model: type[models.Model], columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """UPDATE the rows whose primary key is each row's first value, setting
    the other `columns` to the row's other values."""
    if not rows:
        return
    fields = _fields(model, columns)
    table, key = model._meta.db_table, _name(fields[0])
    sets = ", ".join(f"{_name(f)} = v.{_name(f)}" for f in fields[1:])
    if connection.vendor == "postgresql":
        _update_by_copy(table, fields, rows, key, sets)
    else:
        _update_by_values(table, fields, rows, key, sets)


def _update_by_copy(table: str, fields: list[models.Field], rows, key: str, sets: str) -> None:
    types = ", ".join(f"{_name(f)} {f.db_type(connection)}" for f in fields)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE bulk_update_rows ({types}) ON COMMIT DROP")
        _copy("bulk_update_rows", fields, rows)
        cursor.execute(
            f"UPDATE {table} SET {sets} FROM bulk_update_rows v WHERE {table}.{key} = v.{key}"  # noqa: S608
        )
        cursor.execute("DROP TABLE bulk_update_rows")  # the transaction may update again


def _update_by_values(table: str, fields: list[models.Field], rows, key: str, sets: str) -> None:
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
