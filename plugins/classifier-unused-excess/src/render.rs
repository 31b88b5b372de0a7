//! Text the artifacts are written in: POSIX shell words, comment text and
//! JSON string lists, from `scopegraph-artifacts` (JSON and YAML string
//! quoting is the SDK's `spelling::json_str` and `yaml_str`).

pub use scopegraph_artifacts::text::{comment_text, json_list, shell_word};

#[cfg(test)]
mod tests {
    use super::*;
    use scopegraph_sdk::spelling::{json_str as json_string, yaml_str as yaml_string};

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
