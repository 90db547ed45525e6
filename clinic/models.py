import zoneinfo
from datetime import time

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models

from clinic.core.models import BaseModel
from clinic.core.roles import CLINICAL, Role
from clinic.policy import ClinicalPolicy, policy_build, policy_validate_overrides


class User(AbstractUser):
    """Every account has exactly one role (DESIGN.md, users and roles)."""

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.PATIENT)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(role__in=Role.values), name="user_role_valid")]

    @property
    def is_clinical(self) -> bool:
        return self.role in CLINICAL


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone.")


class Site(BaseModel):
    """A clinic location: its time zone, hours and the nurse ratio."""

    name = models.CharField(max_length=120)
    code = models.SlugField(max_length=40, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[_validate_time_zone])
    opens_at = models.TimeField(default=time(8, 0))
    closes_at = models.TimeField(default=time(18, 0))
    # How many concurrent infusions one nurse may watch (DESIGN.md; clinic policy) [U].
    infusions_per_nurse = models.PositiveSmallIntegerField(default=4)
    default_nurses_on_duty = models.PositiveSmallIntegerField(default=1)
    # Chair preparation before the infusion starts [U].
    prep_minutes = models.PositiveSmallIntegerField(default=15)
    # Per-site changes to the clinical defaults of clinic.policy (keys: ClinicalPolicy fields).
    clinical_overrides = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="site_hours_order"),
            models.CheckConstraint(condition=models.Q(infusions_per_nurse__gte=1), name="site_ratio_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = policy_validate_overrides(self.clinical_overrides)
        if errors:
            raise ValidationError({"clinical_overrides": [f"{k}: {v}" for k, v in errors.items()]})

    @property
    def policy(self) -> ClinicalPolicy:
        return policy_build(self.clinical_overrides)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Chair(BaseModel):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="chairs")
    name = models.CharField(max_length=60)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["site_id", "name"]
        constraints = [models.UniqueConstraint(fields=["site", "name"], name="chair_unique_name_per_site")]

    def __str__(self) -> str:
        return f"{self.site.code}/{self.name}"


class StaffMember(BaseModel):
    """A staff account's place of work."""

    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="staff")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="staff")
    title = models.CharField(max_length=80, blank=True)
    licence_number = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"{self.user.get_full_name() or self.user.username} ({self.user.role})"


class Weekday(models.IntegerChoices):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


class SiteOpeningHours(BaseModel):
    """A site's hours on one weekday, in the site's time zone. A weekday without a row uses
    the site's default `opens_at`-`closes_at`; `closed` marks a weekday the site never opens."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    opens_at = models.TimeField(default=time(8, 0))
    closes_at = models.TimeField(default=time(18, 0))
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["site_id", "weekday"]
        verbose_name_plural = "site opening hours"
        constraints = [
            models.UniqueConstraint(fields=["site", "weekday"], name="opening_hours_unique_weekday"),
            models.CheckConstraint(condition=models.Q(weekday__gte=0, weekday__lte=6), name="opening_hours_weekday"),
            models.CheckConstraint(condition=models.Q(closes_at__gt=models.F("opens_at")), name="opening_hours_order"),
        ]

    def __str__(self) -> str:
        day = Weekday(self.weekday).label
        return f"{day}: closed" if self.closed else f"{day}: {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class SiteClosure(BaseModel):
    """A day a site is closed (a holiday, a training day), in the site's time zone."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="closures")
    date = models.DateField()
    reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["site_id", "date"]
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="closure_unique_date")]

    def __str__(self) -> str:
        return f"{self.site.code} closed {self.date:%Y-%m-%d}"


class NurseRoster(BaseModel):
    """How many nurses are on duty at a site on one day. A day without a row uses the site's
    `default_nurses_on_duty`. Concurrent infusions <= site.infusions_per_nurse x nurses."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="rosters")
    date = models.DateField()
    nurses_on_duty = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["site_id", "date"]
        constraints = [models.UniqueConstraint(fields=["site", "date"], name="roster_unique_date")]

    def __str__(self) -> str:
        return f"{self.site.code} {self.date:%Y-%m-%d}: {self.nurses_on_duty} nurses"


class OnCallLevel(models.IntegerChoices):
    """CLINICAL.md §3 escalation: the on-call clinician first, then the next level."""

    FIRST = 1, "On call"
    NEXT = 2, "Next level"


class OnCallShift(BaseModel):
    """Who is the responsible clinician at a site for which hours (the on-call roster). An
    escalated alert goes to the clinician on call at that moment, then to the next level.
    A shift is never deleted: a cancelled one keeps who cancelled it and when."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="on_call_shifts")
    clinician = models.ForeignKey(User, on_delete=models.PROTECT, related_name="on_call_shifts")
    level = models.PositiveSmallIntegerField(choices=OnCallLevel.choices, default=OnCallLevel.FIRST)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+", null=True, blank=True)

    class Meta:
        ordering = ["site_id", "starts_at", "level", "id"]
        indexes = [models.Index(fields=["site", "ends_at"], name="oncall_site_ends")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="oncall_ends_after_start"
            ),
            models.CheckConstraint(condition=models.Q(level__in=OnCallLevel.values), name="oncall_level_valid"),
        ]

    def clean(self) -> None:
        if self.clinician_id is not None and self.clinician.role != Role.CLINICIAN:
            raise ValidationError({"clinician": "Only a clinician can be on call."})

    def __str__(self) -> str:
        return f"{self.site.code} {self.get_level_display()}: {self.clinician} {self.starts_at:%Y-%m-%d %H:%M}"
