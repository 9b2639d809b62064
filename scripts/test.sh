#!/usr/bin/env bash
# The whole test suite: every crate's unit tests, the integration tests in tests/, doc tests.
# Usage: scripts/test.sh   (from anywhere; run it in the repository)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --all-targets --no-fail-fast
cargo test --workspace --doc
