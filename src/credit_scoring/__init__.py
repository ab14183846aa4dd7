"""Credit scoring for Prêt à dépenser, from the seven Home Credit tables or their data twin."""

__version__ = "0.1.0"
