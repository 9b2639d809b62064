//! Persistence: checkpoints (committed offsets and stream time), changelog topics that rebuild
//! lost state, and the commit interface every store backend implements.

pub(crate) mod changelog;
pub(crate) mod checkpoint;
pub(crate) mod commit;
