"""The Streamlit app (streamlit_app.py runs ``main``): data, panels and page, one module each."""

from geoplan.app.page import main

__all__ = ["main"]
