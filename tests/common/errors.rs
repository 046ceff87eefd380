//! Checking the errors of refused input.

use soft_objectness::Error;

/// `e` names the field path `field` (`None`: no field, e.g. a `.npy` or JSON syntax error)
/// and its message mentions each of `needles`.
pub fn assert_error(e: &Error, field: Option<&str>, needles: &[&str]) {
    let msg = e.to_string();
    assert_eq!(e.field(), field, "field of {msg:?}");
    for n in needles {
        assert!(msg.contains(n), "{msg:?} should mention {n:?}");
    }
}
