//! JSON text -> Case -> evaluate (both builders): no panic, and every success is finite and
//! builder independent. `{"npy": FILE}` references resolve in fuzz/seeds/npy.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soft_objectness::{Case, Limits};

#[allow(dead_code)]
#[path = "../../tests/common/invariants.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits {
        max_elements: 1 << 14,
        max_json_bytes: 1 << 16,
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/npy");
    match Case::from_json_str(text, Some(&dir), &limits) {
        Ok(case) => {
            // Round trip: a case written back reads back equal.
            let written = case.to_json(false).expect("a read case can be written");
            let again = Case::from_json_str(&written.to_string(), None, &Limits::default())
                .expect("a valid case written back must read back");
            assert_eq!(again.config, case.config);
            assert_eq!(again.inputs.targets, case.inputs.targets);
            let _ = invariants::evaluate_both(&case.config, &case.inputs);
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
        }
    }
});
