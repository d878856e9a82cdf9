"""HTTP: health, metrics and admin endpoints (starlette under hypercorn's trio worker)."""
