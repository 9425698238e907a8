"""Library compositions above planning and market (layer 7): calls that combine a plan with a price check. The
CLI, the report and the UI call these instead of combining the lower layers themselves."""

from tokenfab.api.plan_pricing import plan_operating_points, price_check_at_plan
from tokenfab.api.sensitivity import operating_point

__all__ = ["operating_point", "plan_operating_points", "price_check_at_plan"]
