"""Every FHIR answer is checked twice: against the official FHIR R4 JSON schema (HL7's
`fhir.schema.json`, vendored in `schema/`; see schema/README.md) and by the `fhir.resources`
models (R4B)."""

import gzip
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from fhir.resources.R4B import get_fhir_model_class

SCHEMA = Path(__file__).parent / "schema" / "fhir.schema.json.gz"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"  # of the unzipped file


@cache
def _schema() -> dict[str, Any]:
    raw = gzip.decompress(SCHEMA.read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the vendored FHIR schema changed"
    schema = json.loads(raw)
    # The one change we make, in memory: the file is R4's first release (4.0.0), whose list of
    # FHIR versions cannot name the 4.0.1 technical correction that the server (and fhirclient's
    # and fhir.resources' models) follow. Everything else is checked as published.
    versions = schema["definitions"]["CapabilityStatement"]["properties"]["fhirVersion"]["enum"]
    assert versions[-1] == "4.0.0"
    versions.append("4.0.1")
    return schema


@cache
def _validator(resource_type: str) -> jsonschema.Draft6Validator:
    schema = _schema()
    assert resource_type in schema["discriminator"]["mapping"], resource_type
    wrapper = {"definitions": schema["definitions"], "$ref": f"#/definitions/{resource_type}"}
    return jsonschema.Draft6Validator(wrapper)


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """What the official R4 JSON schema finds wrong (nothing: an empty list)."""
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}"
        for e in _validator(resource["resourceType"]).iter_errors(resource)
    ]


def validate(resource: dict[str, Any]) -> Any:
    """Raise unless the resource is valid R4 JSON (the official schema) and parses with the
    fhir.resources model of its type; return the model."""
    errors = schema_errors(resource)
    assert not errors, errors
    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)
