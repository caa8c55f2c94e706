//! ssh_config: lossless syntax tree, the `ssh -G` evaluator, and fix-config's editor.
