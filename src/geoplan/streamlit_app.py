"""The web app's script inside the installed package: ``geoplan serve`` runs it where the working folder has no
``streamlit_app.py`` (an installed wheel, any folder). ``static/`` beside it is what Streamlit serves at
``/app/static/`` (the map's scripts and styles). The checkout's ``streamlit_app.py`` is the same wiring.
"""

import streamlit as st

st.set_page_config(page_title="geoplan", page_icon="🗺️", layout="wide", initial_sidebar_state="auto")

from geoplan.app import main  # noqa: E402  (set_page_config first: Streamlit wants it before any element)

main()
