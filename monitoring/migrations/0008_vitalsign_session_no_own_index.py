# The (session, recorded_at) index serves every lookup by session, so the foreign key's own
# index is dropped (one index write fewer per vitals set; docs/PERFORMANCE.md). Only the index
# goes: AlterField alone would drop and re-add the foreign key, re-checking every row under lock.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("infusions", "0005_appointment_site_starts_index"),
        ("monitoring", "0007_audit_trail"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="vitalsign",
                    name="session",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="vitals",
                        to="infusions.infusionsession",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql='DROP INDEX IF EXISTS "monitoring_vitalsign_session_id_0e8bf90b"',
                    reverse_sql='CREATE INDEX IF NOT EXISTS "monitoring_vitalsign_session_id_0e8bf90b" '
                    'ON "monitoring_vitalsign" ("session_id")',
                ),
            ],
        ),
    ]
