//! .npy bytes -> array: no panic, no huge allocation, and a success has as many elements as
//! its shape says, all finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use soft_objectness::{Limits, npy};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_elements: 1 << 16,
        ..Limits::default()
    };
    if let Ok(a) = npy::decode(data, &limits) {
        let n: usize = a.shape().iter().product();
        let a = a.into_f64();
        assert_eq!(a.len(), n);
        assert!(a.iter().all(|x| x.is_finite()));
    }
});
