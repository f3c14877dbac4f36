"""Users (administrators): the accounts, adding one, changing its role, active flag and identified-export
permission, and resetting its password. Every change is audited by db/users.py."""

import streamlit as st

from db.users import change_password, create_user, get_user, load_users, update_user
from models.catalog import ROLES
from models.user import MIN_PASSWORD_LENGTH
from ui.forms import form_scope, write_and_rerun
from ui.guard import require
from ui.messages import Labels, as_text, title
from ui.state import get_engine

NEW_PASSWORD = f"Password (at least {MIN_PASSWORD_LENGTH} characters)"
RESET_PASSWORD = f"New password (at least {MIN_PASSWORD_LENGTH} characters)"
ACCOUNT_LABELS = Labels({"username": "Username", "display_name": "Display name", "role": "Role",
                         "password": NEW_PASSWORD, "repeat": "Repeat the password", "active": "Active (may sign in)",
                         "can_export_identified": "May export identified data"})
RESET_LABELS = Labels({"password": RESET_PASSWORD, "repeat": "Repeat the new password", "username": "Account"})

require(__file__)
engine = get_engine()
title("Users")
st.caption("Accounts and roles. Staff and physicians enter clinic data, coordinators work on cohorts and exports "
           "(de-identified unless the account may export identified data), administrators manage everything. "
           "Every change here is kept in the audit trail.")

users = load_users(engine)
if users.empty:
    st.info("No accounts yet: add the first one below.")
else:
    table = users.assign(role=users["role"].map(lambda code: ROLES.get(code, code)))
    st.dataframe(table.drop(columns=["user_id"]), hide_index=True, width="stretch", column_config={
        "username": "Username", "display_name": "Display name", "role": "Role", "active": "Active",
        "can_export_identified": st.column_config.CheckboxColumn("Identified export"),
        "last_sign_in_at": st.column_config.DatetimeColumn("Last sign-in", format="YYYY-MM-DD"),
        "failed_sign_ins": st.column_config.NumberColumn(
            "Failed sign-ins", help="Consecutive failures; after 5 each attempt waits a growing delay. "
                                    "A password reset clears it."),
    })


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
        password = st.text_input(NEW_PASSWORD, type="password", key=scope.key("password"))
        repeat = st.text_input("Repeat the password", type="password", key=scope.key("repeat"))
        create = st.form_submit_button("Add account", type="primary", key=scope.submit_key)
    if create:
        if password != repeat:
            passwords_differ("Repeat the password")
        else:
            # The form scope of a new account is dropped after the write: an empty form, no password lingers.
            write_and_rerun(create_user, scope=scope,
                            done=f"Account {as_text(repr(username))} added with role {ROLES[role]}.",
                            prefix="Account not added", labels=ACCOUNT_LABELS, data={
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
                                         key=scope.key("identified"))
            save = st.form_submit_button("Save changes", type="primary", key=scope.submit_key)
        if save:
            write_and_rerun(update_user, prefix="Account not changed", labels=ACCOUNT_LABELS, scope=scope,
                            done=f"Account {as_text(repr(chosen))} saved; the change applies at the account's next "
                                 "page view.", username=chosen,
                            expected_version=int(account["version"]), data={
                                "display_name": new_display, "role": new_role, "active": new_active,
                                "can_export_identified": new_identified})

        st.subheader("Reset the password", anchor=False)
        st.caption("For a forgotten password: set a temporary one and tell the person to change it on "
                   "*My account*. This also lifts any sign-in delay after failed attempts.")
        scope = form_scope("users", "reset", record=chosen)
        with st.form(scope.key("form")):
            reset = st.text_input(RESET_PASSWORD, type="password", key=scope.key("password"))
            reset_repeat = st.text_input("Repeat the new password", type="password", key=scope.key("repeat"))
            do_reset = st.form_submit_button("Reset password", key=scope.submit_key)
        if do_reset:
            if reset != reset_repeat:
                passwords_differ("Repeat the new password")
            else:
                write_and_rerun(change_password, scope=scope, done=f"Password of {as_text(repr(chosen))} reset.",
                                prefix="Password not reset", labels=RESET_LABELS, username=chosen,
                                new_password=reset)
