"""Import (administrators): upload a bundle's CSV files or a zip, check it (nothing written), then confirm.

All or nothing: a bundle with any problem writes nothing, and the report lists every problem as
`file:line: column: reason`. Command line: `python cli.py import BUNDLE`."""

from ui.guard import require

user = require(__file__)

import hashlib  # noqa: E402  (the guard runs first)

import pandas as pd  # noqa: E402
import streamlit as st  # noqa: E402

from exchange import BundleRejected, Limits, import_bundle, oversize  # noqa: E402
from models.errors import SkintrackError  # noqa: E402
from ui.messages import as_text, show_error  # noqa: E402
from ui.state import actor, flash, get_engine, show_flash  # noqa: E402

engine = get_engine()
st.title("Import a bundle")
st.caption("A bundle is patients.csv, skin_scores.csv, measurements.csv, medications.csv and events.csv (any of "
           "them), as written by an export or by hand (EXCHANGE.md). Every row is checked like a form entry; "
           "a bundle with any problem writes nothing. Importing the same bundle again changes nothing.")
show_flash()

uploads = st.file_uploader("Bundle files (the CSV files, or one .zip)", type=["csv", "zip"],
                           accept_multiple_files=True, key="import_files")
if not uploads:
    st.info("Choose the bundle's CSV files (or a zip of the bundle folder). You will see the check first; nothing "
            "is written until you confirm.", icon=":material/upload_file:")
    st.stop()

try:
    limits = Limits.from_environment()
except SkintrackError as error:  # a setting of the server, named as the administrator wrote it
    st.error(f"The import limits are misconfigured: `{error.field}` {as_text(error.reason)}", icon=":material/error:")
    st.stop()
too_large = oversize({f.name: f.size for f in uploads}, limits)
if too_large:
    st.error(f"Not checked: {too_large}.", icon=":material/error:")
    st.stop()

update = st.checkbox("Update records that exist with different values (each change is audited)",
                     key="import_update")
# the uploads themselves, read as streams (never copied whole): a zip, or the CSV files by name
if len(uploads) == 1 and uploads[0].name.lower().endswith(".zip"):
    source, bundle_name = uploads[0], uploads[0].name
else:
    source = {f.name: f for f in uploads}
    bundle_name = ", ".join(sorted(f.name for f in uploads))
digest = hashlib.sha256(repr((sorted((f.name, hashlib.file_digest(f, "sha256").hexdigest()) for f in uploads),
                              update)).encode()).hexdigest()


def show_rejection(rejected: BundleRejected) -> None:
    st.error(f"{as_text(rejected.reason)}. Fix these rows and check again:", icon=":material/error:")
    table = pd.DataFrame([{"file": p.file, "line": p.line, "column": p.column, "reason": p.detail}
                          for p in rejected.problems])
    st.dataframe(table, hide_index=True, width="stretch")
    summary = rejected.problems.summary()  # beyond the first 1,000 problems: counts per file, column and reason
    if summary:
        st.text("\n".join(summary))


if st.button("Check the bundle (nothing is written)", key="import_check", icon=":material/fact_check:"):
    try:
        report = import_bundle(engine, source, actor=actor(), update=update, dry_run=True, bundle_name=bundle_name,
                               limits=limits)
    except BundleRejected as rejected:
        st.session_state["import_checked"] = None
        show_rejection(rejected)
    except SkintrackError as error:
        show_error(error, prefix="Not checked")
    else:
        st.session_state["import_checked"] = digest
        st.success("The bundle is valid. " + as_text(report.lines()[0]), icon=":material/check_circle:")
        st.text("\n".join(report.lines()[1:]))

if st.session_state.get("import_checked") == digest:
    if st.button("Import now", type="primary", key="import_confirm", icon=":material/upload:"):
        bar = st.progress(0.0, text="Importing…")

        def progress(done: int, total: int) -> None:
            bar.progress(min(done / total, 1.0) if total else 1.0, text=f"Importing… {done:,} of {total:,} rows")

        try:
            report = import_bundle(engine, source, actor=actor(), update=update, bundle_name=bundle_name,
                                   progress=progress, limits=limits)
        except BundleRejected as rejected:
            bar.empty()
            show_rejection(rejected)
        except SkintrackError as error:
            bar.empty()
            show_error(error, prefix="Not imported")
        else:
            st.session_state["import_checked"] = None
            flash("success", as_text(report.lines()[0]))
            st.rerun()
else:
    st.caption("Check the bundle first; the import button appears when the check passes.")
