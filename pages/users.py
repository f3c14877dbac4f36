"""Users (administrators): the accounts, adding one, changing its role, active flag, identified-export
permission and centres, and resetting its password. Every change is audited by db/users.py and db/centres.py."""

import zlib

import streamlit as st

from db.centres import load_account_scopes, set_user_centres
from db.users import change_password, create_user, get_user, load_users, update_user
from models.catalog import ROLES
from models.user import MIN_PASSWORD_LENGTH
from ui.centres import registry_centres
from ui.forms import form_scope, write_and_rerun
from ui.gate import browser_session_id
from ui.guard import require
from ui.messages import Labels, as_text, title
from ui.state import current_scope, get_engine

NEW_PASSWORD = f"Password (at least {MIN_PASSWORD_LENGTH} characters)"
RESET_PASSWORD = f"New password (at least {MIN_PASSWORD_LENGTH} characters)"
ACCOUNT_LABELS = Labels({"username": "Username", "display_name": "Display name", "role": "Role",
                         "password": NEW_PASSWORD, "repeat": "Repeat the password", "active": "Active (may sign in)",
                         "can_export_identified": "May export identified data", "centres": "Centres",
                         "centre": "Centres"})
CENTRE_LABELS = Labels({"centres": "Centres", "centre": "Centres", "username": "Account"})
ALL_CENTRES = "*"  # the option "All centres" of the centre choices
RESET_LABELS = Labels({"password": RESET_PASSWORD, "repeat": "Repeat the new password", "username": "Account"})



def create_account(*, session, actor: str, data: dict, centres: list[str] | None) -> None:
    """A new account and, in a registry of several centres, its centres, in one transaction (both audited)."""
    user = create_user(session=session, data=data, actor=actor)
    if centres is not None:
        set_user_centres(session=session, username=user.username, all_centres=ALL_CENTRES in centres,
                         centres={code: bool(data["can_export_identified"]) for code in centres if code != ALL_CENTRES},
                         actor=actor)


def scope_text(row) -> str:
    """'all centres', or 'AMS, LYO' (with the centres of identified export named)."""
    if row.all_centres:
        return "all centres"
    if not row.centres:
        return "no centre (sees no patient)"
    return row.centres + (f" · identified: {row.identified}" if row.identified else "")


require(__file__)
engine = get_engine()
title("Users")
st.caption("Accounts, roles and centres. Staff and physicians enter clinic data, coordinators work on cohorts and "
           "exports (de-identified unless the account may export identified data), administrators manage everything. "
           "Each account sees the patients of its centres only, or of every centre. Every change here is kept in the "
           "audit trail.")

users = load_users(engine)
centres = registry_centres(engine)
several = len(centres) > 1
centre_names = dict(zip(centres["code"], (f"{code} · {name}" + ("" if active else " (inactive)") for code, name, active
                                          in zip(centres["code"], centres["name"], centres["active"], strict=True)),
                        strict=True))
scopes = load_account_scopes(engine).set_index("username")
may_manage = current_scope().everything  # db/users.py and db/centres.py refuse the writes of anyone else
if not may_manage:
    st.info(f"Only an administrator of every centre may add or change accounts; your account works in "
            f"{as_text(current_scope().describe())}. The accounts that see your centres' patients are listed.",
            icon=":material/lock:")
if users.empty:
    st.info("No accounts yet: add the first one below.")
else:
    table = users.assign(role=users["role"].map(lambda code: ROLES.get(code, code)),
                         centres=[scope_text(scopes.loc[name]) if name in scopes.index else ""
                                  for name in users["username"]])
    columns = ["username", "display_name", "role", "centres", "active", "can_export_identified", "last_sign_in_at",
               "failed_sign_ins"]
    if not several and (table["centres"] == "all centres").all():
        columns.remove("centres")
    st.dataframe(table[columns], hide_index=True, width="stretch", column_config={
        "username": "Username", "display_name": "Display name", "role": "Role", "active": "Active",
        "centres": st.column_config.TextColumn("Centres", help="The centres whose patients the account sees; "
                                               "'identified': those it may export identified"),
        "can_export_identified": st.column_config.CheckboxColumn("Identified export"),
        "last_sign_in_at": st.column_config.DatetimeColumn("Last sign-in", format="YYYY-MM-DD"),
        "failed_sign_ins": st.column_config.NumberColumn(
            "Failed sign-ins", help="Consecutive failures; after 5 each attempt waits a growing delay. "
                                    "A password reset clears it."),
    })


def centre_form(username: str, may_identify: bool) -> None:
    """The account's centres: all of them, or some, each with or without identified export."""
    held = scopes.loc[username] if username in scopes.index else None
    every = True if held is None else bool(held["all_centres"])
    mine = [] if every or held is None or not held["centres"] else held["centres"].split(", ")
    identified_now = [] if every or held is None or not held["identified"] else held["identified"].split(", ")
    # the form is drawn afresh whenever the stored scope changes (another administrator saved meanwhile)
    version = zlib.crc32(f"{every}|{mine}|{identified_now}".encode())
    form = form_scope("users", "centres", record=username, version=version, what="This account's centres")
    works_in = st.radio("Sees the patients of", ["all", "some"], index=0 if every else 1, horizontal=True,
                        key=form.key("all"), format_func={"all": "all centres", "some": "some centres"}.get)
    codes = centres["code"].tolist()
    if works_in == "all":
        st.caption("Every centre's patients, now and of centres added later. Identified export follows "
                   "*May export identified data* above.")
        picked, identified = [], []
    else:
        picked = st.multiselect("Centres", codes, default=[c for c in mine if c in codes], key=form.key("centres"),
                                format_func=centre_names.get, placeholder="Choose one or more centres…")
        identified = st.multiselect(
            "May export identified data of", picked, default=[c for c in identified_now if c in picked],
            key=form.key("identified"), format_func=centre_names.get, placeholder="None: de-identified exports only",
            help="Names, record numbers and exact dates of these centres' patients, for an account whose role exports "
                 "and that may export identified data (above). Other centres' patients are exported de-identified.")
        if identified and not may_identify:
            st.caption("*May export identified data* is off for this account (above): its exports stay "
                       "de-identified until it is on.")
    if st.button("Save centres", type="primary", key=form.submit_key):
        write_and_rerun(set_user_centres, scope=form, prefix="Centres not changed", labels=CENTRE_LABELS,
                        done=f"Centres of {as_text(repr(username))} saved; they apply at the account's next page view.",
                        username=username, all_centres=works_in == "all",
                        centres={code: code in identified for code in picked})


if not may_manage:
    st.stop()


def passwords_differ(repeat_field: str) -> None:
    st.error(f"**{repeat_field}**: the two passwords differ; type the same password twice", icon=":material/error:")


add_tab, edit_tab = st.tabs(["Add an account", "Change an account"], key="users_tab", on_change="rerun")

with add_tab:
    scope = form_scope("users", "add", record="new")
    with st.form(scope.key("form")):
        username = st.text_input("Username", key=scope.key("username"), placeholder="e.g. jsmith",
                                 help="2-64 characters: lower-case letters, digits, '.', '_' or '-'")
        display_name = st.text_input("Display name", key=scope.key("display_name"), placeholder="e.g. J. Smith",
                                     help="Shown in the app; offered as a rater on visit entry once they have rated")
        role = st.selectbox("Role", list(ROLES), format_func=ROLES.get, key=scope.key("role"))
        identified = st.checkbox("May export identified data (names, record numbers, exact dates)",
                                 key=scope.key("identified"),
                                 help="Only matters for coordinators and administrators; others cannot export")
        chosen_centres = None
        if several:
            active_codes = centres.loc[centres["active"], "code"].tolist()
            chosen_centres = st.multiselect(
                "Centres", [ALL_CENTRES, *active_codes], key=scope.key("centres"), placeholder="Choose…",
                format_func=lambda code: "All centres" if code == ALL_CENTRES else centre_names[code],
                help="The account sees the patients of these centres only; 'All centres' for a registry's "
                     "coordinator or administrator. Identified export, when ticked above, holds for each centre "
                     "chosen (change it per centre later, under Change an account).")
        password = st.text_input(NEW_PASSWORD, type="password", key=scope.key("password"))
        repeat = st.text_input("Repeat the password", type="password", key=scope.key("repeat"))
        create = st.form_submit_button("Add account", type="primary", key=scope.submit_key)
    if create:
        if password != repeat:
            passwords_differ("Repeat the password")
        else:
            # The form scope of a new account is dropped after the write: an empty form, no password lingers.
            write_and_rerun(create_account, scope=scope,
                            done=f"Account {as_text(repr(username))} added with role {ROLES[role]}.",
                            prefix="Account not added", labels=ACCOUNT_LABELS, centres=chosen_centres, data={
                                "username": username, "display_name": display_name, "role": role,
                                "password": password, "can_export_identified": identified})

with edit_tab:
    if users.empty:
        st.info("Add an account first.")
    else:
        chosen = st.selectbox("Account", users["username"].tolist(), key="users_account")
        account = get_user(engine, chosen)
        scope = form_scope("users", "edit", record=chosen, version=int(account["version"]), what="This account")
        with st.form(scope.key("form")):
            new_display = st.text_input("Display name", value=account["display_name"], key=scope.key("display_name"))
            new_role = st.selectbox("Role", list(ROLES), index=list(ROLES).index(account["role"]),
                                    format_func=ROLES.get, key=scope.key("role"))
            new_active = st.checkbox("Active (may sign in)", value=account["active"], key=scope.key("active"))
            new_identified = st.checkbox("May export identified data", value=account["can_export_identified"],
                                         key=scope.key("identified"),
                                         help="With the coordinator or administrator role. For an account of some "
                                              "centres only, it also needs the centre ticked under Centres below.")
            save = st.form_submit_button("Save changes", type="primary", key=scope.submit_key)
        if save:
            write_and_rerun(update_user, prefix="Account not changed", labels=ACCOUNT_LABELS, scope=scope,
                            done=f"Account {as_text(repr(chosen))} saved; the change applies at the account's next "
                                 "page view.", username=chosen,
                            expected_version=int(account["version"]), data={
                                "display_name": new_display, "role": new_role, "active": new_active,
                                "can_export_identified": new_identified})  # centres change below, audited there

        if several or not account["all_centres"]:
            st.subheader("Centres of this account", anchor=False)
            with st.container(border=True):
                centre_form(chosen, bool(account["can_export_identified"]))

        st.subheader("Reset the password", anchor=False)
        st.caption("For a forgotten or leaked password: set a temporary one and tell the person to change it on "
                   "*My account*. This also lifts any sign-in delay after failed attempts, and signs the account "
                   "out of every browser.")
        scope = form_scope("users", "reset", record=chosen)
        with st.form(scope.key("form")):
            reset = st.text_input(RESET_PASSWORD, type="password", key=scope.key("password"))
            reset_repeat = st.text_input("Repeat the new password", type="password", key=scope.key("repeat"))
            do_reset = st.form_submit_button("Reset password", key=scope.submit_key)
        if do_reset:
            if reset != reset_repeat:
                passwords_differ("Repeat the new password")
            else:
                write_and_rerun(change_password, scope=scope,
                                done=f"Password of {as_text(repr(chosen))} reset; its browsers are signed out.",
                                prefix="Password not reset", labels=RESET_LABELS, username=chosen,
                                new_password=reset, keep_session=browser_session_id())
