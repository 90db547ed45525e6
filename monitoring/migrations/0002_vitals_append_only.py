from django.db import migrations

from clinic.core.sql import append_only_trigger


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [append_only_trigger("monitoring_vitalsign")]
