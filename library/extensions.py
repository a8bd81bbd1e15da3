"""Flask extensions shared by every package (created unbound; bound in create_app)."""

from flask_wtf import CSRFProtect

csrf = CSRFProtect()
