"""The dashboard's one exception (a module of its own: importing it loads nothing heavy)."""


class DashboardError(RuntimeError):
    """Something the advisor must be told, in French (no personal data in the message)."""
