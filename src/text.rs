//! Text from a server made safe for a terminal or a log line.

/// Whether `c` must not reach a terminal or a log line as it is: a control character
/// (general category Cc: escapes, CR, LF, BEL, NEL), a format character (Cf: the bidi
/// embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, zero-width characters,
/// the BOM, tags), or a line or paragraph separator (Zl U+2028, Zp U+2029).
///
/// The Cf ranges are those of Unicode 16.
pub fn is_unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// `s` with unprintable characters ([`is_unprintable`]: control and format characters, line
/// and paragraph separators) replaced by spaces, cut to `max` characters (`…` marks a cut).
pub(crate) fn printable(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max * 4));
    for (i, c) in s.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        out.push(if is_unprintable(c) { ' ' } else { c });
    }
    out
}
