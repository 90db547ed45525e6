"""SQL helpers for migrations."""

from django.db import migrations


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
