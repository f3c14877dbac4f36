"""Centres on the screens: the registry's centres as the signed-in account may use them (cached per version of the
registry), a centre's label, and the notice migration 0008 leaves for the administrator."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from db.audit import registry_version
from db.centres import default_centre_notice, dismiss_default_centre_notice, load_centres
from db.scope import scope_of
from ui.forms import write_and_rerun
from ui.messages import Labels, as_text
from ui.state import current_scope, database_key, get_engine

NOTICE_LABELS = Labels({"centre": "Notice"})


@st.cache_data(max_entries=8, show_spinner=False)
def _centres(database: str, version: int) -> pd.DataFrame:
    engine = get_engine()
    scope = scope_of(engine)
    frame = load_centres(engine, visible_only=False).drop(columns=["patients"])
    return frame.assign(mine=[scope.sees(int(key)) for key in frame["centre_key"]])


def registry_centres(engine: Engine, version: int | None = None) -> pd.DataFrame:
    """Every centre of the registry (centre_key, code, name, country, active, version), `mine` when the account's
    scope holds it; ordered by code. Centres are few; a change to one is audited, so `version`
    (db.audit.registry_version, read here when not given) keys the cache."""
    version = registry_version(engine) if version is None else version
    return _centres(database_key(engine), version)


def centre_label(row) -> str:
    """'AMS · Amsterdam UMC' (and '(inactive)'), for select boxes."""
    label = f"{row['code']} · {row['name']}"
    return label if row["active"] else f"{label} (inactive)"


def show_default_centre_notice(user: dict) -> None:
    """Once centres exist (migration 0008), an administrator of every centre is told where the existing patients
    went, until one of them dismisses the notice (audited)."""
    if user.get("role") != "admin" or not current_scope().everything:
        return
    centre = default_centre_notice(get_engine())
    if centre is None:
        return
    with st.container(border=True, key="centres_notice"):
        st.info(f"Centres are new in this version: the existing patients were placed in centre "
                f"**{as_text(centre.code)}**, “{as_text(centre.name)}”. Rename it, or add centres and give each "
                "account its centres, on the Centres and Users screens.", icon=":material/domain:")
        row = st.container(horizontal=True)
        row.page_link("pages/centres.py", label="Open Centres", icon=":material/domain:")
        if row.button("Dismiss this notice", key="centres_notice_dismiss", icon=":material/done:"):
            write_and_rerun(dismiss_default_centre_notice, done="Notice dismissed; it is not shown again.",
                            prefix="Not dismissed", labels=NOTICE_LABELS)
