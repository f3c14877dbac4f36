"""My account: who I am, my role, and changing my own password."""

import streamlit as st

from db.users import change_password
from models.user import MIN_PASSWORD_LENGTH
from ui.forms import form_scope, write_and_rerun
from ui.guard import require
from ui.messages import Labels, as_text, title

NEW_PASSWORD = f"New password (at least {MIN_PASSWORD_LENGTH} characters)"
LABELS = Labels({"current_password": "Current password", "password": NEW_PASSWORD,
                 "repeat": "Repeat the new password"})

user = require(__file__)
title("My account")
st.write(f"**{as_text(user['display_name'])}** — username `{user['username']}`, role **{user['role']}**"
         + (", may export identified data" if user.get("can_export_identified") else ""))

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
        write_and_rerun(change_password, scope=scope, done="Password changed. Use the new one next time you sign in.",
                        prefix="Password not changed", labels=LABELS, username=user["username"], new_password=new,
                        current_password=current)
