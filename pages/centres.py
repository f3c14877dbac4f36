"""Centres (administrators): the registry's centres with their patients counted; adding a centre, renaming it,
deactivating or reactivating it. Only an administrator of every centre may change them (db/centres.py refuses
anyone else); every change is audited."""

import streamlit as st

from db.centres import add_centre, load_centres, update_centre
from models.centre import CENTRE_CODE_RULE
from ui.forms import form_scope, write_and_rerun
from ui.guard import require
from ui.messages import Labels, as_text, title
from ui.state import current_scope, get_engine

LABELS = Labels({"code": "Code", "name": "Name", "country": "Country", "centre": "Centre"})

require(__file__)
engine = get_engine()
scope = current_scope()
may_change = scope.everything
title("Centres")
st.caption("Every patient belongs to one centre, and each account sees the patients of its centres (set on the "
           "Users screen). A centre's code is permanent: exports and bundles carry it. An inactive centre keeps its "
           "patients, their data and the accounts that see them; no new patient can join it. Every change here is "
           "kept in the audit trail.")

centres = load_centres(engine, visible_only=not may_change)
if not may_change:
    st.info(f"Only an administrator of every centre may add or change centres; your account works in "
            f"{as_text(scope.describe())}.", icon=":material/lock:")
shown = centres.assign(status=centres["active"].map({True: "active", False: "inactive"}))
st.dataframe(shown[["code", "name", "country", "status", "patients"]], hide_index=True, width="stretch",
             column_config={"code": st.column_config.TextColumn("Code", width="small"), "name": "Name",
                            "country": "Country", "status": st.column_config.TextColumn("Status", width="small"),
                            "patients": st.column_config.NumberColumn("Patients", format="%d",
                                                                      help="Live patients (deleted ones not counted)")})
if not may_change:
    st.stop()

add_tab, edit_tab = st.tabs(["Add a centre", "Change a centre"], key="centres_tab", on_change="rerun")

with add_tab:
    scope_add = form_scope("centres", "add", record="new")
    with st.form(scope_add.key("form")):
        cols = st.columns([1, 2, 1])
        code = cols[0].text_input("Code", key=scope_add.key("code"), max_chars=32, placeholder="e.g. AMS",
                                  help=f"{CENTRE_CODE_RULE}. Permanent: exports, bundles and the command line use it.")
        name = cols[1].text_input("Name", key=scope_add.key("name"), max_chars=200,
                                  placeholder="e.g. Amsterdam UMC, rheumatology")
        country = cols[2].text_input("Country", key=scope_add.key("country"), max_chars=64, placeholder="e.g. NL")
        add = st.form_submit_button("Add centre", type="primary", key=scope_add.submit_key)
    if add:
        write_and_rerun(add_centre, scope=scope_add, prefix="Centre not added", labels=LABELS,
                        done=f"Centre {as_text(code.strip())} added. Give accounts access to it on the Users screen.",
                        data={"code": code, "name": name, "country": country})

with edit_tab:
    codes = centres["code"].tolist()
    labels = {row.code: f"{row.code} · {row.name}" + ("" if row.active else " (inactive)")
              for row in centres.itertuples()}
    chosen = st.selectbox("Centre", codes, format_func=labels.get, key="centres_chosen", width=480)
    centre = centres[centres["code"] == chosen].iloc[0]
    version = int(centre["version"])
    scope_edit = form_scope("centres", "edit", record=chosen, version=version, what="This centre")
    with st.form(scope_edit.key("form")):
        cols = st.columns([2, 1])
        new_name = cols[0].text_input("Name", value=centre["name"], max_chars=200, key=scope_edit.key("name"))
        new_country = cols[1].text_input("Country", value=centre["country"], max_chars=64,
                                         key=scope_edit.key("country"))
        save = st.form_submit_button("Save changes", type="primary", key=scope_edit.submit_key)
    if save:
        write_and_rerun(update_centre, scope=scope_edit, prefix="Centre not changed", labels=LABELS,
                        done=f"Centre {as_text(chosen)} saved.", code=chosen, expected_version=version,
                        name=new_name, country=new_country)

    patients = int(centre["patients"])
    scope_state = form_scope("centres", "active", record=chosen, version=version, what="This centre")
    if centre["active"]:
        st.subheader("Deactivate the centre", anchor=False)
        st.caption(f"No new patient can join {as_text(chosen)} (by a form, an import or a transfer). "
                   + (f"Its patients ({patients:,} now) and their data stay, and the accounts of this centre keep "
                      "seeing them." if patients else "It has no patients.") + " You can reactivate it later.")
        sure = st.checkbox(f"Yes, deactivate {as_text(chosen)}", key=scope_state.key("sure"))
        if st.button("Deactivate centre", icon=":material/domain_disabled:", key=scope_state.submit_key,
                     disabled=not sure):
            write_and_rerun(update_centre, scope=scope_state, prefix="Not deactivated", labels=LABELS,
                            done=f"Centre {as_text(chosen)} deactivated: no new patient can join it.", code=chosen,
                            expected_version=version, active=False)
    else:
        st.subheader("Reactivate the centre", anchor=False)
        st.caption(f"{as_text(chosen)} is inactive: "
                   + (f"its patients ({patients:,} now) stay" if patients else "it has no patients")
                   + ", and no new patient can join it until it is reactivated.")
        sure = st.checkbox(f"Yes, reactivate {as_text(chosen)}", key=scope_state.key("sure"))
        if st.button("Reactivate centre", icon=":material/domain:", key=scope_state.submit_key, disabled=not sure):
            write_and_rerun(update_centre, scope=scope_state, prefix="Not reactivated", labels=LABELS,
                            done=f"Centre {as_text(chosen)} reactivated: new patients can join it again.", code=chosen,
                            expected_version=version, active=True)
