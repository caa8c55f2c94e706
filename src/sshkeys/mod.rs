//! SSH keys: generation, parsing, SHA256/MD5 fingerprints, randomart, default identities.
