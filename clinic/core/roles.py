"""The roles (DESIGN.md, users and roles) and every set of them that a rule or a view's
`roles` map uses: the one home of "who may do this". Add a set here rather than writing a
tuple of roles beside the rule."""

from django.db import models


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    CLINICIAN = "clinician", "Clinician (prescriber)"
    NURSE = "nurse", "Nurse"
    FRONTDESK = "frontdesk", "Front desk"
    PATIENT = "patient", "Patient"


ADMIN = (Role.ADMIN,)
PRESCRIBER = (Role.CLINICIAN,)
CLINICAL = (Role.CLINICIAN, Role.NURSE)
STAFF = (Role.ADMIN, Role.CLINICIAN, Role.NURSE, Role.FRONTDESK)
DEMOGRAPHICS = (Role.ADMIN, Role.CLINICIAN, Role.FRONTDESK)
PATIENT = (Role.PATIENT,)
# Book, move and cancel appointments and series.
BOOKERS = (Role.CLINICIAN, Role.FRONTDESK)
# Check a patient in, or record a no-show.
FRONT_OF_HOUSE = (Role.CLINICIAN, Role.NURSE, Role.FRONTDESK)
# Read the controlled-substance ledger, reverse session entries, witness a waste.
LEDGER = (Role.ADMIN, Role.CLINICIAN, Role.NURSE)
# Outcome reports across patients.
REPORTS = (Role.CLINICIAN, Role.ADMIN)
