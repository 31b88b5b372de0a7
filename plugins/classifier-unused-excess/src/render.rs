//! Text the artifacts are written in, escaped by hand (the plugin carries
//! no serialisation library): JSON strings, double-quoted YAML strings and
//! POSIX shell words.

pub use scopegraph_sdk::spelling::{json_str as json_string, yaml_str as yaml_string};

/// A JSON array of strings, one per line, its items indented two spaces
/// past `indent` and its closing bracket at `indent`. Empty: `[]`.
pub fn json_list(items: &[String], indent: &str) -> String {
    if items.is_empty() {
        return "[]".into();
    }
    let body: Vec<String> = items
        .iter()
        .map(|i| format!("{indent}  {}", json_string(i)))
        .collect();
    format!("[\n{}\n{indent}]", body.join(",\n"))
}

/// One shell word: as is when it only holds characters no POSIX shell
/// treats specially, otherwise in single quotes (a `'` inside becomes `'\''`).
pub fn shell_word(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-.,:/@%+=".contains(c);
    if !value.is_empty() && value.chars().all(plain) {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', "'\\''"))
}

/// A line of comment text: line breaks in `value` cannot end the comment.
pub fn comment_text(value: &str) -> String {
    value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// At most `max` characters of `value`.
pub fn truncate(value: &str, max: usize) -> String {
    value.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ODD: &str = "a \"quoted\" \\ back\tslash\nnew line: # not a comment \u{7f}\u{85}\u{2028}\u{feff}\u{1} é 🦀";

    #[test]
    fn yaml_strings_round_trip_through_a_yaml_parser() {
        let parsed: String = serde_yaml::from_str(&yaml_string(ODD)).expect("valid YAML");
        assert_eq!(parsed, ODD);
        assert_eq!(yaml_string("GA"), "\"GA\"");
        assert_eq!(yaml_string("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(yaml_string("\u{85}\u{2028}"), r#""\x85\u2028""#);
        let document = format!("key: {}\n", yaml_string(ODD));
        let map: std::collections::BTreeMap<String, String> =
            serde_yaml::from_str(&document).unwrap();
        assert_eq!(map["key"], ODD);
    }

    #[test]
    fn json_strings_round_trip_through_a_json_parser() {
        let parsed: String = serde_json::from_str(&json_string(ODD)).expect("valid JSON");
        assert_eq!(parsed, ODD);
        let list: Vec<String> = serde_json::from_str(&json_list(&[ODD.to_string()], "  ")).unwrap();
        assert_eq!(list, [ODD]);
        assert_eq!(json_list(&[], "  "), "[]");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word("serviceAccount:a@b.iam.gserviceaccount.com"),
            "serviceAccount:a@b.iam.gserviceaccount.com"
        );
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_word("p[ns/sa]"), "'p[ns/sa]'");
        assert_eq!(shell_word("*"), "'*'");
        assert_eq!(shell_word("a\nb"), "'a\nb'");
        assert_eq!(comment_text("a\nb\r\tc"), "a b  c");
    }
}
