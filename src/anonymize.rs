//! placeholder, replaced by the anonymizer work
