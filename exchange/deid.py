"""De-identification (EXCHANGE.md, "De-identified export"): keyed pseudonyms and per-patient date shifts.

The key is SKINTRACK_SECRET when set; otherwise a random key generated on first use and kept in the
installation_setting table, so pseudonyms stay the same across exports of one installation.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import date

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from db.engine import write_session
from models.catalog import AGE_CAP
from models.setting import InstallationSetting

SECRET_VARIABLE = "SKINTRACK_SECRET"
SECRET_SETTING = "pseudonym_secret"
MAX_SHIFT_DAYS = 180


def installation_secret(engine: Engine) -> bytes:
    """The pseudonym key: SKINTRACK_SECRET, else the stored one (generated and stored on first use)."""
    configured = os.environ.get(SECRET_VARIABLE, "")
    if configured:
        return configured.encode("utf-8")
    table = InstallationSetting.__table__
    statement = select(table.c.value).where(table.c.key == SECRET_SETTING)
    with engine.connect() as connection:
        stored = connection.execute(statement).scalar()
    if stored is None:
        try:
            with write_session(engine) as session:
                session.execute(insert(table).values(key=SECRET_SETTING, value=secrets.token_hex(32)))
        except IntegrityError:
            pass  # another process stored one first: use theirs
        with engine.connect() as connection:
            stored = connection.execute(statement).scalar_one()
    return stored.encode("utf-8")


def _digest(secret: bytes, patient_id: str) -> bytes:
    return hmac.new(secret, patient_id.encode("utf-8"), hashlib.sha256).digest()


def pseudonym(secret: bytes, patient_id: str) -> str:
    """`S-` + the first 5 bytes of HMAC-SHA256(secret, patient_id) in lower-case hex."""
    return "S-" + _digest(secret, patient_id)[:5].hex()


def date_offset(secret: bytes, patient_id: str, latest: date | None = None, today: date | None = None) -> int:
    """The patient's date shift in days: 1 to 180 either way, never 0, from the HMAC's 6th and 7th bytes.

    When a forward shift would move the patient's `latest` date into the future (a shifted bundle
    must import, and no date may lie in the future), the shift goes back by the same number of days.
    """
    digest = _digest(secret, patient_id)
    magnitude = 1 + int.from_bytes(digest[5:7], "big") % MAX_SHIFT_DAYS
    forward = digest[7] & 1 == 1
    today = today or date.today()
    if forward and latest is not None and (latest.toordinal() + magnitude) > today.toordinal():
        forward = False
    return magnitude if forward else -magnitude


def age_at_baseline(baseline_year: int | None, birth_year: int | None) -> int | None:
    """baseline year − birth year, written as 90 when 90 or more; None when either is unknown."""
    if baseline_year is None or birth_year is None:
        return None
    return min(int(baseline_year) - int(birth_year), AGE_CAP)
