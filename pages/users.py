"""Users (administrators): the accounts, adding one, changing its role, active flag and identified-export
permission, and resetting its password. Every change is audited by db/users.py."""

import streamlit as st

from db.engine import write_session
from db.users import change_password, create_user, get_user, load_users, update_user
from models.catalog import ROLES
from models.errors import SkintrackError
from models.user import MIN_PASSWORD_LENGTH
from ui.guard import require
from ui.messages import show_error
from ui.state import actor, flash, get_engine, show_flash

require(__file__)
engine = get_engine()
st.title("Users")
st.caption("Accounts and roles. Staff and physicians enter clinic data, coordinators work on cohorts and exports "
           "(de-identified unless the account may export identified data), administrators manage everything. "
           "Every change here is kept in the audit trail.")
show_flash()

users = load_users(engine)
if users.empty:
    st.info("No accounts yet: add the first one below.")
else:
    shown = users.assign(role=users["role"].map(lambda code: ROLES.get(code, code)))
    st.dataframe(shown.drop(columns=["user_id"]), hide_index=True, width="stretch", column_config={
        "username": "Username", "display_name": "Display name", "role": "Role", "active": "Active",
        "can_export_identified": st.column_config.CheckboxColumn("Identified export"),
        "last_sign_in_at": st.column_config.DatetimeColumn("Last sign-in", format="YYYY-MM-DD"),
        "failed_sign_ins": st.column_config.NumberColumn(
            "Failed sign-ins", help="Consecutive failures; after 5 each attempt waits a growing delay. "
                                    "A password reset clears it."),
    })

add_tab, edit_tab = st.tabs(["Add an account", "Change an account"])

with add_tab, st.form("user_new", clear_on_submit=False):
    username = st.text_input("Username", key="user_new_username", placeholder="e.g. jsmith",
                             help="2-64 characters: lower-case letters, digits, '.', '_' or '-'")
    display_name = st.text_input("Display name", key="user_new_display_name", placeholder="e.g. J. Smith",
                                 help="Shown in the app and used as the default rater on visit entry")
    role = st.selectbox("Role", list(ROLES), format_func=ROLES.get, key="user_new_role")
    identified = st.checkbox("May export identified data (names, record numbers, exact dates)",
                             key="user_new_identified",
                             help="Only matters for coordinators and administrators; others cannot export")
    password = st.text_input(f"Password (at least {MIN_PASSWORD_LENGTH} characters)", type="password",
                             key="user_new_password")
    repeat = st.text_input("Repeat the password", type="password", key="user_new_repeat")
    create = st.form_submit_button("Add account", type="primary", key="user_create")
if create:
    if password != repeat:
        st.error("**password**: the two passwords differ; type the same password twice")
    else:
        try:
            with write_session(engine) as session:
                created = create_user(session=session, actor=actor(), data={
                    "username": username, "display_name": display_name, "role": role, "password": password,
                    "can_export_identified": identified})
                name = created.username
            for key in ("user_new_username", "user_new_display_name", "user_new_password", "user_new_repeat"):
                del st.session_state[key]  # an empty form for the next account; no password lingers
            flash("success", f"Account {name!r} added with role {ROLES[role]}.")
            st.rerun()
        except SkintrackError as error:
            show_error(error, prefix="Account not added")

with edit_tab:
    if users.empty:
        st.info("Add an account first.")
    else:
        chosen = st.selectbox("Account", users["username"].tolist(), key="user_edit_username")
        account = get_user(engine, chosen)
        with st.form(f"user_edit_{chosen}"):
            new_display = st.text_input("Display name", value=account["display_name"],
                                        key=f"user_edit_display_name_{chosen}")
            new_role = st.selectbox("Role", list(ROLES), index=list(ROLES).index(account["role"]),
                                    format_func=ROLES.get, key=f"user_edit_role_{chosen}")
            new_active = st.checkbox("Active (may sign in)", value=account["active"], key=f"user_edit_active_{chosen}")
            new_identified = st.checkbox("May export identified data", value=account["can_export_identified"],
                                         key=f"user_edit_identified_{chosen}")
            save = st.form_submit_button("Save changes", type="primary", key="user_save")
        if save:
            try:
                with write_session(engine) as session:
                    update_user(session=session, username=chosen, expected_version=int(account["version"]),
                                actor=actor(), data={
                        "display_name": new_display, "role": new_role, "active": new_active,
                        "can_export_identified": new_identified})
                flash("success", f"Account {chosen!r} saved; the change applies at the account's next page view.")
                st.rerun()
            except SkintrackError as error:
                show_error(error, prefix="Account not changed")

        st.subheader("Reset the password")
        st.caption("For a forgotten password: set a temporary one and tell the person to change it on "
                   "*My account*. This also lifts any sign-in delay after failed attempts.")
        with st.form(f"user_reset_{chosen}", clear_on_submit=True):
            reset = st.text_input(f"New password (at least {MIN_PASSWORD_LENGTH} characters)", type="password",
                                  key="user_reset_password")
            reset_repeat = st.text_input("Repeat the new password", type="password", key="user_reset_repeat")
            do_reset = st.form_submit_button("Reset password", key="user_reset")
        if do_reset:
            if reset != reset_repeat:
                st.error("**password**: the two passwords differ; type the same password twice")
            else:
                try:
                    with write_session(engine) as session:
                        change_password(session=session, username=chosen, new_password=reset, actor=actor())
                    st.success(f"Password of {chosen!r} reset.")
                except SkintrackError as error:
                    show_error(error, prefix="Password not reset")
