//! placeholder, replaced by the synthetic log generator
