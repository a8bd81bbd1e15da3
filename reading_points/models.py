"""All models of the package, so that Alembic sees them."""

from reading_points.campaigns.models import *  # noqa: F401,F403
from reading_points.points.models import *  # noqa: F401,F403
