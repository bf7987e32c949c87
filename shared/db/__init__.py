"""Database base, sessions, models and the one Alembic history for all services."""
