#![no_main]
//! Arbitrary text as a policy file: the loader never panics, and every refusal names the
//! file, so a user can always find what is wrong.

use libfuzzer_sys::fuzz_target;
use logwarden::config::LoadedConfig;
use logwarden::policy::Policy;

fuzz_target!(|text: &[u8]| {
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let path = std::path::Path::new("/etc/logwarden/config.yaml");
    match LoadedConfig::parse(path, text.to_string()) {
        Err(e) => assert!(e.0.starts_with("/etc/logwarden/config.yaml"), "{e}"),
        Ok(loaded) => match Policy::from_config(&loaded) {
            Ok(_) => {}
            Err(e) => {
                for line in e.0 {
                    assert!(line.starts_with("/etc/logwarden/config.yaml"), "{line}");
                }
            }
        },
    }
});
