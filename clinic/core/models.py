from django.db import models


class BaseModel(models.Model):
    """Every row knows when it was created and last changed."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class AppendOnlyModel(models.Model):
    """A clinical record: written once, never changed or deleted (DESIGN.md non-negotiables).

    The database enforces it too: see `clinic.core.sql.append_only_trigger`.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        abstract = True
