//! MongoDB end to end: not written yet.
