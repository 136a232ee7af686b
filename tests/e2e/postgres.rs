//! PostgreSQL end to end: not written yet.
