"""My account: who I am, my role, and changing my own password."""

import streamlit as st

from db.engine import write_session
from db.users import change_password
from models.errors import SkintrackError
from models.user import MIN_PASSWORD_LENGTH
from ui.guard import require
from ui.messages import show_error
from ui.state import get_engine

user = require(__file__)
st.title("My account")
st.write(f"**{user['display_name']}** — username `{user['username']}`, role **{user['role']}**"
         + (", may export identified data" if user.get("can_export_identified") else ""))

st.subheader("Change my password")
with st.form("change_password", clear_on_submit=True):
    current = st.text_input("Current password", type="password", key="account_current")
    new = st.text_input(f"New password (at least {MIN_PASSWORD_LENGTH} characters)", type="password",
                        key="account_new")
    repeat = st.text_input("Repeat the new password", type="password", key="account_repeat")
    submitted = st.form_submit_button("Change password", key="account_submit")
if submitted:
    if new != repeat:
        st.error("**new password**: the two new passwords differ; type the same password twice")
    else:
        try:
            with write_session(get_engine()) as session:
                change_password(session=session, username=user["username"], new_password=new,
                                current_password=current, actor=user["username"])
            st.success("Password changed. Use the new one next time you sign in.")
        except SkintrackError as error:
            show_error(error, prefix="Password not changed")
