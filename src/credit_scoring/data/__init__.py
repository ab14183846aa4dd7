"""The Home Credit tables: one schema declaration, the data twin, ingestion and validation."""
