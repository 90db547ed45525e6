"""FHIR R4 export (DESIGN.md interop): monitoring sees every app, so the resources live here."""
