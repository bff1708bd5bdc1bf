//! One way to write a builder's setters: each takes the builder by value, sets one field and
//! hands the builder back.

/// Setters that set one field each and return `Self`, every one with its own doc comment:
///
/// ```ignore
/// setters! {
///     /// Timeout of one attempt.
///     pub fn timeout(d: impl Into<Duration>) => timeout = Some(d.into());
/// }
/// ```
///
/// expands to `pub fn timeout(mut self, d: impl Into<Duration>) -> Self { self.timeout =
/// Some(d.into()); self }`. A setter that does more than set a field is written out.
macro_rules! setters {
    ($(
        $(#[$attr:meta])*
        $vis:vis fn $name:ident($arg:ident: $ty:ty) => $($field:ident).+ = $value:expr;
    )*) => {
        $(
            $(#[$attr])*
            $vis fn $name(mut self, $arg: $ty) -> Self {
                self.$($field).+ = $value;
                self
            }
        )*
    };
}
pub(crate) use setters;
