from django.db import migrations

from clinic.core.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [
        append_only_trigger("patients_bodymeasurement"),
        append_only_trigger("patients_screening"),
    ]
