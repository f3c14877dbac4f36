"""Export (coordinators and administrators): the registry as a bundle — CSV files in a zip, one Excel workbook,
or datasets for SAS, SPSS, Stata or Parquet — plus the derived visits, summary, windows, window values, composite
response, activity and dictionary (EXCHANGE.md, ENDPOINTS.md). De-identified by default; an identified export only
for accounts allowed to make one."""

from ui.guard import require

user = require(__file__)

from datetime import UTC, datetime  # noqa: E402  (the guard runs first)

import streamlit as st  # noqa: E402

from analysis import DEFAULT_RESPONSE_MONTH  # noqa: E402
from db.patients import count_patients  # noqa: E402
from db.treatments import load_medications  # noqa: E402
from exchange import export_bytes  # noqa: E402
from exchange.deid import must_deidentify  # noqa: E402
from exchange.exporter import DOWNLOAD_FORMATS  # noqa: E402
from models.access import role_can  # noqa: E402
from models.errors import SkintrackError  # noqa: E402
from ui.centres import centre_label, registry_centres  # noqa: E402
from ui.messages import show_error  # noqa: E402
from ui.state import actor, current_scope, get_engine  # noqa: E402

engine = get_engine()
who = actor()  # the audit row's user, taken while the page runs as them
st.title("Export")
st.caption("Five bundle files (patients, skin scores, measurements, medications, events) that import into any "
           "Skintrack installation, plus visits, summary, windows, window values, composite response (CRISS), "
           "disease activity (EUSTAR) and a data dictionary for statisticians. Every export is kept in the audit "
           "trail. Command line: `python cli.py export OUT`.")

if count_patients(engine) == 0:
    st.info("There are no patients to export yet. An administrator can import a bundle (Import) or staff can "
            "add patients; then come back here to download them.", icon=":material/info:")
    st.stop()

# Centres: an account of several centres may limit the export to some; an identified export needs the role's
# right and the account's permission for every centre it covers (exchange.coverage enforces it again).
scope = current_scope()
mine = registry_centres(engine).query("mine")
chosen = []
if len(mine) > 1:
    labels = {row.code: centre_label(row._asdict()) for row in mine.itertuples()}
    chosen = st.multiselect("Centres", list(labels), key="export_centres", format_func=labels.get,
                            placeholder="All your centres" if not scope.everything else "All centres",
                            help="Only these centres' patients; empty: every centre you see.")
keys = {row.code: int(row.centre_key) for row in mine.itertuples()}
covered = [keys[code] for code in chosen] if chosen else None
may_identify = role_can(user["role"], "export_identified", can_export_identified=scope.may_identify_every(covered))
identifiable = sorted(code for code, key in keys.items() if scope.may_identify(key))
wanted = st.toggle("De-identified", value=True, key="export_deidentify", disabled=not may_identify,
                   help="Pseudonyms instead of patient_ids, dates shifted per patient (intervals exact), no names, "
                        "MRNs, notes, event descriptions or medication reasons, raters renamed, age at baseline "
                        "instead of birth year.")
# Never trust the widget alone: without the permission the export is de-identified whatever it says.
deidentify = must_deidentify(wanted, may_identify)
if not may_identify and identifiable and role_can(user["role"], "export_identified", can_export_identified=True):
    st.caption(f"Your account may export identified data of centre{'s' if len(identifiable) > 1 else ''} "
               f"{', '.join(identifiable)} only: choose only "
               f"{'those centres' if len(identifiable) > 1 else 'that centre'} above to switch de-identification "
               "off.")
elif not may_identify:
    st.caption("Your account may export de-identified data only; an administrator can grant identified exports.")
elif not deidentify:
    st.warning("This export holds names, record numbers and exact dates: keep it encrypted and within the clinic.",
               icon=":material/warning:")

fmt = st.selectbox("Format", list(DOWNLOAD_FORMATS), key="export_format",
                   format_func=lambda key: DOWNLOAD_FORMATS[key].label,
                   help="All hold the same files. SAS, SPSS and Stata files carry the dictionary's variable labels "
                        "(and value labels in SPSS and Stata); Parquet keeps types and labels for R, Python and "
                        "Spark. An Excel workbook takes about 20 times longer to write than CSV (about 2 minutes for "
                        "20,000 patients) and a sheet holds at most 1,048,575 rows.")
drugs = sorted(set(load_medications(engine)["drug"]))
anchor = st.selectbox("Baseline", ["earliest visit with an mRSS", *[f"anchored on {d}" for d in drugs]],
                      key="export_anchor",
                      help="Anchored: the latest visit from 90 days before the drug's first start up to that start.")
anchor_drug = anchor.removeprefix("anchored on ") if anchor.startswith("anchored on ") else None
months_text = st.text_input("Visit windows (months)", value="3,6,12,24", key="export_months")
response_month = st.number_input("Follow-up month of the composite response (CRISS)", min_value=1, max_value=600,
                                 value=DEFAULT_RESPONSE_MONTH, step=1, key="export_response_month",
                                 help="response.csv compares each patient's baseline with the visit windows.csv uses "
                                      "at this month (ENDPOINTS.md).")

if st.button("Prepare the export", type="primary", key="export_prepare", icon=":material/download:"):
    bar = st.progress(0.0, text="Exporting…")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"Exporting… {done:,} of {total:,} patients")

    try:
        data = export_bytes(engine, fmt=fmt, deidentify=deidentify, anchor_drug=anchor_drug, months=months_text,
                            response_month=response_month, centres=chosen or None, actor=who, progress=progress)
    except SkintrackError as error:
        bar.empty()
        show_error(error, prefix="Not exported")
    else:
        bar.empty()
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        kind = "deidentified" if deidentify else "identified"
        download = DOWNLOAD_FORMATS[fmt]
        name = f"skintrack-{kind}-{stamp}{download.suffix}"
        st.success(f"The {'de-identified' if deidentify else 'identified'} export is ready.",
                   icon=":material/check_circle:")
        st.download_button("Download " + name, data=data, file_name=name, key="export_download", on_click="ignore",
                           mime=download.mime)
