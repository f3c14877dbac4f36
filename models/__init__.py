"""Tables, input schemas and the clinical catalogue. Importing this package registers every table
on SQLModel.metadata (Alembic's target)."""

from models.api_token import ApiClientFailure, ApiToken
from models.assessment import Assessment, AssessmentCreate, AssessmentUpdate
from models.audit import AuditEvent
from models.browser_session import BrowserSession
from models.centre import Centre, UserCentre
from models.measurement import Measurement, MeasurementCreate, MeasurementUpdate
from models.patient import Patient, PatientCreate, PatientUpdate
from models.setting import InstallationSetting
from models.treatment import (
    MedicationPeriod,
    MedicationPeriodCreate,
    MedicationPeriodUpdate,
    TreatmentEvent,
    TreatmentEventCreate,
    TreatmentEventUpdate,
)
from models.user import SignInThrottle, User, UserCreate, UserUpdate

__all__ = [
    "ApiClientFailure", "ApiToken",
    "Assessment", "AssessmentCreate", "AssessmentUpdate", "AuditEvent", "BrowserSession", "Centre",
    "InstallationSetting",
    "Measurement",
    "MeasurementCreate", "MeasurementUpdate", "MedicationPeriod", "MedicationPeriodCreate",
    "MedicationPeriodUpdate", "Patient", "PatientCreate", "PatientUpdate", "TreatmentEvent",
    "TreatmentEventCreate", "TreatmentEventUpdate", "SignInThrottle", "User", "UserCentre", "UserCreate", "UserUpdate",
]
