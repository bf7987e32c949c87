"""The matching service: allocates pledges to needs (rules in domain.py, docs/matching.md)."""
