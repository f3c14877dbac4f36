"""FHIR R4 output (issue 17, docs/FHIR.md): the mapping of a patient's rows to `fhir.resources.R4B` resources,
a patient's `$everything` Bundle, and the bulk export as FHIR NDJSON, identified or de-identified."""

from exchange.fhir.bulk import FhirExportResult, export_fhir_bulk
from exchange.fhir.bundle import everything_json, patient_everything
from exchange.fhir.codes import Installation, installation, local_code_systems
from exchange.fhir.mapping import Context, Frames, as_model, patient_resource_id, resource_dicts, resources
from exchange.fhir.source import patient_id_of_resource

__all__ = ["Context", "FhirExportResult", "Frames", "Installation", "as_model", "everything_json",
           "export_fhir_bulk", "installation", "local_code_systems", "patient_everything", "patient_id_of_resource",
           "patient_resource_id", "resource_dicts", "resources"]
