//! Command-line values from the library's vocabulary tables ([`Named`]): the accepted values,
//! their help and their parsing all come from the one table of each enum.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use soft_objectness::Named;

/// The names of `T`'s table, each with its meaning as help.
pub fn names<T: Named>() -> PossibleValuesParser {
    PossibleValuesParser::new(
        T::NAMES
            .iter()
            .map(|&(_, name, meaning)| PossibleValue::new(name).help(meaning)),
    )
}

/// A value of `T`, by one of the names of its table.
pub fn named<T: Named + Send + Sync>() -> impl TypedValueParser<Value = T> {
    names::<T>().try_map(|name| T::parse("value", &name))
}
