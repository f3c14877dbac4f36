"""Streamlit helpers shared by app.py and the pages: engine, session state, messages, cached reads."""
