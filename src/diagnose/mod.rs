//! Findings with fixes, shared by `validate` and `doctor`.
