"""Role sets used by views' `roles` maps (DESIGN.md users and roles)."""

from clinic.models import Role

ADMIN = (Role.ADMIN,)
PRESCRIBER = (Role.CLINICIAN,)
CLINICAL = (Role.CLINICIAN, Role.NURSE)
STAFF = (Role.ADMIN, Role.CLINICIAN, Role.NURSE, Role.FRONTDESK)
DEMOGRAPHICS = (Role.ADMIN, Role.CLINICIAN, Role.FRONTDESK)
PATIENT = (Role.PATIENT,)
