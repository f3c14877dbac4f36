"""My account: who I am, my role and centres, changing my own password, and my personal API tokens."""

import streamlit as st

from db.api_tokens import DEFAULT_DAYS, MAX_DAYS, create_token, load_tokens, revoke_token
from db.centres import centre_codes_by_key
from db.engine import write_session
from db.users import change_password
from models.api_token import TOKEN_NAME_MAX
from models.catalog import ROLES
from models.errors import SkintrackError
from models.user import MIN_PASSWORD_LENGTH
from ui.forms import form_scope, start_afresh, write_and_rerun
from ui.gate import browser_session_id
from ui.guard import require
from ui.messages import Labels, as_text, show_error, title
from ui.state import current_scope, get_engine

NEW_PASSWORD = f"New password (at least {MIN_PASSWORD_LENGTH} characters)"
LABELS = Labels({"current_password": "Current password", "password": NEW_PASSWORD,
                 "repeat": "Repeat the new password"})

user = require(__file__)
title("My account")
st.write(f"**{as_text(user['display_name'])}** — username `{user['username']}`, role "
         f"**{ROLES.get(user['role'], user['role'])}**"
         + (", may export identified data" if user.get("can_export_identified") else ""))
scope = current_scope()
if scope.everything:
    st.write("Centres: **all centres** — you see every centre's patients.")
elif not scope.centres:
    st.warning("Your account has no centre, so it sees no patient. Ask an administrator to give it its centres.",
               icon=":material/domain_disabled:")
else:
    names = centre_codes_by_key(get_engine())
    identified = sorted(names.get(key, str(key)) for key in scope.identified or ())
    st.write(f"Centres: **{as_text(', '.join(scope.codes))}** — you see these centres' patients only"
             + (f"; identified exports of {as_text(', '.join(identified))}" if identified and
                user.get("can_export_identified") else "") + ".")

st.subheader("Change my password", anchor=False)
scope = form_scope("account", "password", record=user["username"])
with st.form(scope.key("form")):
    current = st.text_input("Current password", type="password", key=scope.key("current"))
    new = st.text_input(NEW_PASSWORD, type="password", key=scope.key("new"))
    repeat = st.text_input("Repeat the new password", type="password", key=scope.key("repeat"))
    submitted = st.form_submit_button("Change password", key=scope.submit_key)
if submitted:
    if new != repeat:
        st.error("**Repeat the new password**: the two new passwords differ; type the same password twice",
                 icon=":material/error:")
    else:
        write_and_rerun(change_password, scope=scope, done="Password changed. Use the new one next time you sign in; "
                                                           "your other browsers are signed out.",
                        prefix="Password not changed", labels=LABELS, username=user["username"], new_password=new,
                        current_password=current, keep_session=browser_session_id())

st.subheader("API tokens", anchor=False)
st.caption("A personal token lets a script or another system use the Skintrack API as you, with your role "
           "(README, \"The API\"). Send it in the header `Authorization: Bearer` followed by the token. Only a "
           "fingerprint of it is kept: it is shown once, right after you create it. Revoke a token you no longer use.")
TOKEN_LABELS = Labels({"name": "Token name", "days": "Valid for (days)", "token": "Token to revoke"})
created = st.session_state.pop("api_token_created", None)
if created is not None:
    st.success(f"Token **{as_text(created['name'])}** created, valid until {created['expires']} UTC. Copy it now "
               "(the copy button at the right of the box): it is not shown again.", icon=":material/key:")
    st.code(created["token"], language=None)
scope = form_scope("account", "api_token", record="new")
with st.form(scope.key("form")):
    name = st.text_input("Token name", max_chars=TOKEN_NAME_MAX, key=scope.key("name"),
                         placeholder="what uses it, e.g. nightly R pull")
    days = st.number_input("Valid for (days)", min_value=1, max_value=MAX_DAYS, value=DEFAULT_DAYS, step=1,
                           key=scope.key("days"))
    create = st.form_submit_button("Create token", key=scope.submit_key)
if create:
    try:
        with write_session(get_engine()) as session:
            new = create_token(session=session, username=user["username"], name=name, days=int(days),
                               actor=user["username"])
    except SkintrackError as error:
        show_error(error, prefix="Token not created", labels=TOKEN_LABELS)
    else:
        st.session_state["api_token_created"] = {"name": new.name, "token": new.token,
                                                 "expires": f"{new.expires_at:%Y-%m-%d %H:%M}"}
        start_afresh(scope)
        st.rerun()

tokens = load_tokens(get_engine(), user["username"])
if tokens.empty:
    st.info("You have no API tokens.", icon=":material/info:")
else:
    shown = tokens.rename(columns={"name": "Name", "status": "Status", "created_at": "Created (UTC)",
                                   "expires_at": "Expires (UTC)", "last_used_at": "Last used (UTC)"})
    st.dataframe(shown[["Name", "Status", "Created (UTC)", "Expires (UTC)", "Last used (UTC)"]], hide_index=True,
                 column_config={column: st.column_config.DatetimeColumn(column, format="YYYY-MM-DD HH:mm")
                                for column in ("Created (UTC)", "Expires (UTC)", "Last used (UTC)")})
    active = tokens[tokens["status"] == "active"]
    if not active.empty:
        choices = {int(row.token_id): f"{row.name} (expires {row.expires_at:%Y-%m-%d})"
                   for row in active.itertuples()}
        revoke_scope = form_scope("account", "revoke_token", record="tokens")
        with st.form(revoke_scope.key("form")):
            chosen = st.selectbox("Token to revoke", list(choices), format_func=choices.__getitem__,
                                  key=revoke_scope.key("token"))
            sure = st.checkbox("Yes, revoke it: whatever uses this token is refused from now on",
                               key=revoke_scope.key("sure"))
            revoke = st.form_submit_button("Revoke token", key=revoke_scope.submit_key)
        if revoke:
            if not sure:
                st.error("**Yes, revoke it**: tick the box to confirm; nothing was revoked", icon=":material/error:")
            else:
                write_and_rerun(revoke_token, scope=revoke_scope, done="Token revoked: it opens nothing any more.",
                                prefix="Token not revoked", labels=TOKEN_LABELS, username=user["username"],
                                token_id=int(chosen))
