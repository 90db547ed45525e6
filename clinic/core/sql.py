"""SQL helpers: migrations, and one set-based insert for the hot write paths."""

from collections.abc import Sequence

from django.db import connection, migrations, models


def append_only_trigger(table: str) -> migrations.RunSQL:
    """A trigger that refuses UPDATE and DELETE on a clinical table, whoever asks.

    TRUNCATE (used only by test teardown) does not fire row triggers.
    """
    fn = f"{table}_append_only"
    return migrations.RunSQL(
        sql=f"""
        CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% on {table} refused: clinical records are append-only', TG_OP
                USING ERRCODE = 'integrity_constraint_violation';
        END;
        $$ LANGUAGE plpgsql;
        CREATE TRIGGER {fn} BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION {fn}();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {fn} ON {table}; DROP FUNCTION IF EXISTS {fn}();",
    )


def rows_insert(objs: Sequence[models.Model]) -> None:
    """Insert unsaved instances of one model with one `INSERT ... SELECT FROM unnest(...)`:
    one array per column, so the statement and its parameters keep the same shape for 1 or
    1,000 rows and Django builds no per-value SQL. Sets each instance's primary key (ids
    come from the sequence in the order the rows are given, as with `bulk_create`).

    Values go in as they are on the instances: no `pre_save` (set `auto_now_add` times
    before calling) and no `full_clean`; the database's constraints still apply.
    """
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in fields)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) "  # noqa: S608 - names come from the model
        f"SELECT * FROM unnest({arrays}) RETURNING {quote(meta.pk.column)}"  # type: ignore[union-attr]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[getattr(obj, f.attname) for obj in objs] for f in fields])
        for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = connection.alias
