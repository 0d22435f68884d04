"""geoplan's web app: the report's projects on a layered map, with filters, a table and downloads.

Widgets only: every decision is a call into the geoplan package. Run with ``make run``.
"""

import streamlit as st

st.set_page_config(page_title="geoplan", page_icon="🗺️", layout="wide", initial_sidebar_state="auto")

from geoplan.app import main  # noqa: E402  (set_page_config first: Streamlit wants it before any element)

main()
