"""Jinja2 templates of every package (one folder per package; base.html and macros at the top)."""
