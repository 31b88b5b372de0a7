//! The typed records' fast reader: a byte scanner that reads a record's
//! text straight into the typed shapes (`crate::typed`) and passes over
//! what is not read, where serde's per-key visitor calls cost more than
//! the parsing itself (BENCHMARKS.md has the figures).
//!
//! It reads a strict subset of JSON and leaves the rest to `serde_json`.
//! On a key that holds an escape, an escaped surrogate without its other
//! half in a value it reads, a number it must read that is not a plain
//! integer, nesting deeper than [`MAX_DEPTH`], or anything that is not
//! JSON, it stops with [`Stop::Unsure`] and the caller
//! reads the text again with `serde_json`, whose answer stands. What it
//! does read, it reads as `serde_json` would: it validates what it passes
//! over as `IgnoredAny` does (strings, escapes, numbers, literals,
//! nesting), and a record it reads is a record `serde_json` reads into the
//! same shapes (a crate test reads every fixture both ways).
//!
//! The text is a `str`, checked as UTF-8 once by the caller.

use crate::typed::{Elements, Entries, Record, Shape};
use std::borrow::Cow;

/// Why the scanner stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// A key of another format (see `Record::read_entries`): not a typed
    /// record, as `serde_json` would find too.
    Foreign,
    /// Something the scanner leaves to `serde_json`.
    Unsure,
}

type Scan<T> = Result<T, Stop>;

/// Deepest nesting passed over inside one value. `serde_json` has its own
/// limit (128, counted from where it started); past this one the text is
/// left to it, so that its limit is the one that applies.
const MAX_DEPTH: u32 = 96;

/// One record object, the whole of `text`, read into `out` (which the
/// caller resets before reading `text` again another way).
pub(crate) fn record<'de>(
    text: &'de str,
    foreign_declines: bool,
    out: &mut Record<'de>,
) -> Scan<()> {
    let mut scanner = Scanner { text, at: 0 };
    scanner.eat(b'{')?;
    out.read_entries(Object(Members::new(&mut scanner)), foreign_declines)?;
    scanner.end()
}

/// A CloudTrail file's one line, `{"Records":[{...},...]}`: each record
/// read and handed to `each` with its index as it comes. On a stop, the
/// records handed over stay handed over (the caller skips them when it
/// reads the line again).
pub(crate) fn records<'de>(text: &'de str, mut each: impl FnMut(&Record<'de>, u64)) -> Scan<()> {
    let mut scanner = Scanner { text, at: 0 };
    scanner.eat(b'{')?;
    scanner.eat(b'"')?;
    if scanner.plain_string()? != "Records" {
        return Err(Stop::Unsure);
    }
    scanner.eat(b':')?;
    scanner.eat(b'[')?;
    let mut elements = Members::new(&mut scanner);
    let mut index = 0;
    while elements.more(b']')? {
        // (An element that is not an object is left to serde_json, which
        // reports it as what it is.)
        let scanner = &mut *elements.scanner;
        scanner.eat(b'{')?;
        let mut record = Record::default();
        record.read_entries(Object(Members::new(scanner)), false)?;
        each(&record, index);
        index += 1;
    }
    // Another key after `Records` is left to serde_json too.
    scanner.eat(b'}')?;
    scanner.end()
}

struct Scanner<'de> {
    text: &'de str,
    at: usize,
}

impl<'de> Scanner<'de> {
    fn byte(&self, at: usize) -> Option<u8> {
        self.text.as_bytes().get(at).copied()
    }

    /// The next byte that is not JSON whitespace (not consumed).
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        while let Some(b) = self.byte(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    #[inline]
    fn eat(&mut self, expected: u8) -> Scan<()> {
        if self.peek() == Some(expected) {
            self.at += 1;
            Ok(())
        } else {
            Err(Stop::Unsure)
        }
    }

    /// Only whitespace left.
    fn end(&mut self) -> Scan<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(Stop::Unsure),
        }
    }

    /// A string whose opening quote was consumed, up to and past its
    /// closing quote: where its contents end, and whether it holds an
    /// escape. Escapes are checked as `IgnoredAny` checks them (`\u`
    /// takes any four hex digits); control characters are refused.
    #[inline(always)]
    fn string(&mut self) -> Scan<(usize, bool)> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        let mut escaped = false;
        loop {
            at += first_special(bytes.get(at..).unwrap_or_default());
            match bytes.get(at) {
                Some(b'"') => {
                    self.at = at + 1;
                    return Ok((at, escaped));
                }
                Some(b'\\') => {
                    escaped = true;
                    at = escape_end(bytes, at)?;
                }
                Some(b) if *b < 0x20 => return Err(Stop::Unsure),
                Some(_) => at += 1,
                None => return Err(Stop::Unsure),
            }
        }
    }

    /// A key (or `Records`), borrowed: one with escapes is left to
    /// serde_json, which decodes them. (Values that are read are decoded
    /// here, see `token`: policy documents in `requestParameters` are
    /// strings full of `\"`.)
    fn plain_string(&mut self) -> Scan<&'de str> {
        match self.raw_string()? {
            (text, false) => Ok(text),
            (_, true) => Err(Stop::Unsure),
        }
    }

    /// A string's contents as they stand, and whether they hold an escape.
    #[inline(always)]
    fn raw_string(&mut self) -> Scan<(&'de str, bool)> {
        let start = self.at;
        let (end, escaped) = self.string()?;
        Ok((self.text.get(start..end).ok_or(Stop::Unsure)?, escaped))
    }

    fn literal(&mut self, word: &[u8]) -> Scan<()> {
        let end = self.at + word.len();
        if self.text.as_bytes().get(self.at..end) == Some(word) {
            self.at = end;
            Ok(())
        } else {
            Err(Stop::Unsure)
        }
    }

    /// A number, by JSON's grammar: `Some(n)` for a non-negative integer
    /// that fits `u64`, `None` for any other valid number.
    fn number(&mut self) -> Scan<Option<u64>> {
        let negative = self.byte(self.at) == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits = self.at;
        match self.byte(self.at) {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(Stop::Unsure),
        }
        let integer = self.text.get(digits..self.at).ok_or(Stop::Unsure)?;
        let mut plain = true;
        if self.byte(self.at) == Some(b'.') {
            self.at += 1;
            self.required_digits()?;
            plain = false;
        }
        if matches!(self.byte(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.byte(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.required_digits()?;
            plain = false;
        }
        Ok(if plain && !negative {
            integer.parse().ok()
        } else {
            None
        })
    }

    fn skip_digits(&mut self) {
        while matches!(self.byte(self.at), Some(b'0'..=b'9')) {
            self.at += 1;
        }
    }

    fn required_digits(&mut self) -> Scan<()> {
        let from = self.at;
        self.skip_digits();
        if self.at == from {
            return Err(Stop::Unsure);
        }
        Ok(())
    }

    /// Pass over one value, checked as `IgnoredAny` checks it. Iterative:
    /// `objects` is the stack of open containers, one bit each (set for
    /// an object).
    fn skip(&mut self) -> Scan<()> {
        let mut depth = 0;
        let mut objects: u128 = 0;
        loop {
            // A value.
            match self.peek().ok_or(Stop::Unsure)? {
                b'"' => {
                    self.at += 1;
                    self.string()?;
                }
                open @ (b'{' | b'[') => {
                    self.at += 1;
                    let close = if open == b'{' { b'}' } else { b']' };
                    if self.peek() == Some(close) {
                        self.at += 1;
                    } else {
                        if depth == MAX_DEPTH {
                            return Err(Stop::Unsure);
                        }
                        depth += 1;
                        objects = objects << 1 | u128::from(open == b'{');
                        if open == b'{' {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                _ => return Err(Stop::Unsure),
            }
            // What follows it: the containers it closes, then a comma
            // (and the next key, in an object) or the end.
            loop {
                if depth == 0 {
                    return Ok(());
                }
                let in_object = objects & 1 == 1;
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        if in_object {
                            self.key()?;
                        }
                        break;
                    }
                    Some(b'}') if in_object => {}
                    Some(b']') if !in_object => {}
                    _ => return Err(Stop::Unsure),
                }
                self.at += 1;
                depth -= 1;
                objects >>= 1;
            }
        }
    }

    /// An object key that is passed over, and its colon.
    fn key(&mut self) -> Scan<()> {
        self.eat(b'"')?;
        self.string()?;
        self.eat(b':')
    }

    /// One value as a field of shape `T`, as `typed::Field` reads it.
    /// (Generic, so kept small: the reading is in `token`, one copy.)
    #[inline]
    fn field<T: Shape<'de>>(&mut self) -> Scan<Option<T>> {
        Ok(match self.token()? {
            Token::Str(text) => T::from_str(Cow::Borrowed(text)),
            Token::Escaped(text) => T::from_str(Cow::Owned(decode(text)?)),
            Token::U64(n) => T::from_u64(n),
            Token::Bool(b) => T::from_bool(b),
            Token::Null => None,
            Token::Object => return T::from_object(Object(Members::new(self))),
            Token::Array => return T::from_array(Array(Members::new(self))),
        })
    }

    /// A value's scalar, or the opening of its object or array (consumed).
    #[inline(never)]
    fn token(&mut self) -> Scan<Token<'de>> {
        let token = match self.peek().ok_or(Stop::Unsure)? {
            b'"' => {
                self.at += 1;
                let (text, escaped) = self.raw_string()?;
                return Ok(if escaped {
                    Token::Escaped(text)
                } else {
                    Token::Str(text)
                });
            }
            b'{' => Token::Object,
            b'[' => Token::Array,
            b't' => return self.literal(b"true").map(|()| Token::Bool(true)),
            b'f' => return self.literal(b"false").map(|()| Token::Bool(false)),
            b'n' => return self.literal(b"null").map(|()| Token::Null),
            // Negative integers and the rest: serde_json tells which (and
            // whether it is in range).
            b'-' | b'0'..=b'9' => return self.number()?.map(Token::U64).ok_or(Stop::Unsure),
            _ => return Err(Stop::Unsure),
        };
        self.at += 1;
        Ok(token)
    }
}

/// What a field's value starts with (see `Scanner::token`).
enum Token<'de> {
    Str(&'de str),
    /// A string that holds escapes, as it stands (decoded by `field`).
    Escaped(&'de str),
    U64(u64),
    Bool(bool),
    Null,
    Object,
    Array,
}

/// Past the escape at `at` (a backslash), checked.
#[cold]
fn escape_end(bytes: &[u8], at: usize) -> Scan<usize> {
    match bytes.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(at + 2),
        Some(b'u') => {
            let hex = bytes.get(at + 2..at + 6).ok_or(Stop::Unsure)?;
            if hex.iter().all(u8::is_ascii_hexdigit) {
                Ok(at + 6)
            } else {
                Err(Stop::Unsure)
            }
        }
        _ => Err(Stop::Unsure),
    }
}

/// The contents of a string (between its quotes, escapes checked by
/// `Scanner::string`) with its escapes decoded as `serde_json` decodes
/// them. A `\u` escape that is half of a surrogate pair without its other
/// half is left to `serde_json`, which refuses it. Out of line: most
/// strings that are read hold no escape.
#[cold]
#[inline(never)]
fn decode(text: &str) -> Scan<String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((plain, escape)) = rest.split_once('\\') {
        out.push_str(plain);
        let mut chars = escape.chars();
        let decoded = match chars.next().ok_or(Stop::Unsure)? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(&mut chars)?;
                let code = match high {
                    0xd800..=0xdbff => {
                        if (chars.next(), chars.next()) != (Some('\\'), Some('u')) {
                            return Err(Stop::Unsure);
                        }
                        let low = hex4(&mut chars)?;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(Stop::Unsure);
                        }
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(Stop::Unsure),
                    _ => high,
                };
                char::from_u32(code).ok_or(Stop::Unsure)?
            }
            _ => return Err(Stop::Unsure),
        };
        out.push(decoded);
        rest = chars.as_str();
    }
    out.push_str(rest);
    Ok(out)
}

/// Four hex digits of a `\u` escape.
fn hex4(chars: &mut std::str::Chars<'_>) -> Scan<u32> {
    let mut code = 0;
    for _ in 0..4 {
        let digit = chars.next().and_then(|c| c.to_digit(16));
        code = code * 16 + digit.ok_or(Stop::Unsure)?;
    }
    Ok(code)
}

/// Where the first quote, backslash or control character of `bytes` is
/// (`bytes.len()` if none is; the last few bytes are the caller's to
/// look at one by one): sixteen bytes a step where SSE2 is there (every
/// x86-64), eight elsewhere.
#[inline(always)]
fn first_special(bytes: &[u8]) -> usize {
    let mut at = 0;
    let mut rest = bytes;
    #[cfg(target_arch = "x86_64")]
    while let Some((chunk, tail)) = rest.split_first_chunk::<16>() {
        let special = special_bytes_16(chunk);
        if special != 0 {
            return at + special.trailing_zeros() as usize;
        }
        at += 16;
        rest = tail;
    }
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        let special = special_bytes(u64::from_le_bytes(*chunk));
        if special != 0 {
            return at + (special.trailing_zeros() / 8) as usize;
        }
        at += 8;
        rest = tail;
    }
    at
}

/// Bit `i` set where byte `i` of `chunk` is a quote, a backslash or below
/// 0x20. (SSE2 is part of x86-64, so its intrinsics are safe to call.)
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn special_bytes_16(chunk: &[u8; 16]) -> u32 {
    use std::arch::x86_64::{
        _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set_epi64x,
        _mm_set1_epi8,
    };
    let word = u128::from_le_bytes(*chunk);
    // SAFETY: SSE2 is part of x86-64, so these are always there (they are
    // `unsafe` only because they are declared with `#[target_feature]`).
    #[allow(unsafe_code)]
    unsafe {
        let bytes = _mm_set_epi64x((word >> 64) as i64, word as i64);
        let quote = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(bytes, _mm_set1_epi8(b'\\' as i8));
        // Unsigned `byte < 0x20` is `max(byte, 0x1f) == 0x1f`.
        let limit = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(bytes, limit), limit);
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
    }
}

/// Bit 7 of each byte of `word` set where that byte is a quote, a
/// backslash or below 0x20 (the classic "has zero byte" test, three times).
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let quote = zero_byte(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

/// The members of an object or array whose opening bracket was consumed:
/// the separator before each, up to the closing bracket.
struct Members<'s, 'de> {
    scanner: &'s mut Scanner<'de>,
    first: bool,
}

impl<'s, 'de> Members<'s, 'de> {
    fn new(scanner: &'s mut Scanner<'de>) -> Self {
        Members {
            scanner,
            first: true,
        }
    }

    /// Before a member: `false` at `close` (consumed), past the comma
    /// otherwise. (What the member starts with is its reader's to check.
    /// Always inlined, so that `close` is a constant where it is tested.)
    #[inline(always)]
    fn more(&mut self, close: u8) -> Scan<bool> {
        let s = &mut *self.scanner;
        match s.peek() {
            Some(b) if b == close => {
                s.at += 1;
                return Ok(false);
            }
            Some(b',') if !self.first => s.at += 1,
            Some(_) if self.first => {}
            _ => return Err(Stop::Unsure),
        }
        self.first = false;
        Ok(true)
    }
}

/// The scanner's side of [`Entries`]: an object whose `{` was consumed.
struct Object<'s, 'de>(Members<'s, 'de>);

impl<'de> Entries<'de> for Object<'_, 'de> {
    type Error = Stop;

    fn next_key(&mut self) -> Scan<Option<Cow<'de, str>>> {
        if !self.0.more(b'}')? {
            return Ok(None);
        }
        let s = &mut *self.0.scanner;
        s.eat(b'"')?;
        let key = s.plain_string()?;
        s.eat(b':')?;
        Ok(Some(Cow::Borrowed(key)))
    }

    fn value<T: Shape<'de>>(&mut self) -> Scan<Option<T>> {
        self.0.scanner.field()
    }

    fn skip(&mut self) -> Scan<()> {
        self.0.scanner.skip()
    }

    fn decline(&mut self) -> Stop {
        Stop::Foreign
    }
}

/// The scanner's side of [`Elements`]: an array whose `[` was consumed.
struct Array<'s, 'de>(Members<'s, 'de>);

impl<'de> Elements<'de> for Array<'_, 'de> {
    type Error = Stop;

    fn next<T: Shape<'de>>(&mut self) -> Scan<Option<Option<T>>> {
        if !self.0.more(b']')? {
            return Ok(None);
        }
        self.0.scanner.field().map(Some)
    }

    fn skip_rest(&mut self) -> Scan<()> {
        while self.0.more(b']')? {
            self.0.scanner.skip()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typed::RecordSeed;
    use serde::de::{DeserializeSeed, IgnoredAny};

    const CALL: &str = r#"{"eventVersion":"1.08","eventTime":"2025-03-02T10:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-west-2","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/agent/s","accessKeyId":"ASIAX","sessionContext":{"attributes":{"creationDate":"2025-03-02T09:00:00Z","mfaAuthenticated":"false"},"sessionIssuer":{"arn":"arn:aws:iam::111122223333:role/agent"}}},"requestParameters":{"bucketName":"b","key":"k","versionId":"3","tags":[{"key":"a","value":"b"}],"n":[1,2]},"resources":[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"}],"readOnly":true,"additionalEventData":{"bytesTransferredOut":1878544,"x":[{},[],null,-0.5e-3]},"responseElements":null}"#;
    const ENTRY: &str = r#"{"protoPayload":{"serviceName":"storage.googleapis.com","methodName":"storage.objects.get","status":{"code":7},"resourceName":"projects/_/buckets/b","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"authorizationInfo":[{"permission":"storage.objects.get","granted":true,"resource":"projects/_/buckets/b/objects/o"}]},"timestamp":"2025-03-02T10:00:00Z"}"#;

    /// serde_json's reading into the typed record, as text; `None` when
    /// it fails.
    fn by_serde(text: &str, foreign_declines: bool) -> Option<String> {
        let mut out = Record::default();
        let mut deserializer = serde_json::Deserializer::from_str(text);
        RecordSeed {
            foreign_declines,
            out: &mut out,
        }
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end())
        .ok()?;
        Some(format!("{out:?}"))
    }

    /// The scanner's reading, checked against serde_json's: what the
    /// scanner reads, serde_json reads the same way (and it is JSON); a
    /// foreign key stops both.
    fn agreed(text: &str, foreign_declines: bool) -> Result<(), Stop> {
        let mut out = Record::default();
        let scanned = record(text, foreign_declines, &mut out);
        match scanned {
            Ok(()) => {
                assert!(
                    serde_json::from_str::<IgnoredAny>(text).is_ok(),
                    "the scanner read what is not JSON: {text}"
                );
                assert_eq!(
                    Some(format!("{out:?}")),
                    by_serde(text, foreign_declines),
                    "{text}"
                );
            }
            Err(Stop::Foreign) => assert_eq!(by_serde(text, foreign_declines), None, "{text}"),
            Err(Stop::Unsure) => {}
        }
        scanned
    }

    #[test]
    fn reads_what_serde_json_reads_the_same_way() {
        // (No comma is in a string of CALL; `":` ends only keys.)
        let spaced = CALL.replace(',', ",\n\t ").replace("\":", "\" :\r\n ");
        let cases = [
            CALL.to_string(),
            ENTRY.to_string(),
            spaced,
            format!(" {CALL} \n"),
            // Numbers of every shape, escapes (any four hex digits, as
            // `IgnoredAny` takes them) and deep nesting where not read.
            CALL.replace(
                r#""readOnly":true"#,
                r#""readOnly":[0,-0,1.5,-2E+10,3e-0,123456789012345678901234567890,"a\"\\\/\b\f\n\r\t\u00e9\ud800"]"#,
            ),
            CALL.replace(r#""readOnly":true"#, &format!(r#""deep":{}1{}"#, "[".repeat(90), "]".repeat(90))),
            // Text that is not ASCII, across the scanner's 8-byte steps.
            CALL.replace("us-west-2", "us-wést-2-東京-🦀"),
            // Escapes in what is read, decoded as serde_json decodes them.
            CALL.replace("GetObject", r"Get\u004fbject"),
            CALL.replace(r#""key":"k""#, r#""key":"\"a\\b\/c\b\f\n\r\t\u00e9\ud83e\udd80 é""#),
            CALL.replace("us-west-2", r"\u0075s-west-2\u20ac"),
            CALL.replace(r#""arn":"arn:aws:iam::111122223333:role/agent""#, r#""arn":"arn:aws:iam::111122223333:role\/agent""#),
            // Read fields of other types, empty containers, repeats.
            CALL.replace(r#""2025-03-02T10:00:00Z""#, "20250302"),
            CALL.replace(r#""type":"AssumedRole""#, r#""type":{}"#),
            CALL.replace(r#""resources":[{"ARN":"arn:aws:s3:::b/k","type":"AWS::S3::Object"}]"#, r#""resources":[]"#),
            CALL.replace(r#""eventName":"GetObject""#, r#""eventName":7,"eventName":"PutObject""#),
            ENTRY.replace(r#"{"code":7}"#, r#"{"code":18446744073709551615}"#),
            ENTRY.replace("true", "false"),
            "{}".to_string(),
        ];
        for case in &cases {
            assert_eq!(agreed(case, true), Ok(()), "{case}");
        }
    }

    #[test]
    fn leaves_to_serde_json_what_it_does_not_read() {
        let deep = format!(r#""deep":{}1{}"#, "[".repeat(200), "]".repeat(200));
        let unsure = [
            // Escapes in keys, and surrogates without their other half in
            // what is read: serde_json decodes or refuses them.
            CALL.replace(r#""eventName""#, r#""event\u004eame""#),
            CALL.replace("GetObject", r"GetObject\ud800"),
            CALL.replace("GetObject", r"GetObject\udc00"),
            CALL.replace("GetObject", r"GetObject\ud800\u0041"),
            CALL.replace("GetObject", r"GetObject\ud800\n"),
            // Numbers read that are not plain integers.
            ENTRY.replace(r#"{"code":7}"#, r#"{"code":7.0}"#),
            ENTRY.replace(r#"{"code":7}"#, r#"{"code":-7}"#),
            ENTRY.replace(r#"{"code":7}"#, r#"{"code":18446744073709551616}"#),
            // Nesting past the scanner's limit.
            CALL.replace(r#""readOnly":true"#, &deep),
            // Not JSON.
            CALL.replace("true", "tru"),
            CALL.replace("true", "01"),
            CALL.replace("true", "1."),
            CALL.replace("true", "1e"),
            CALL.replace("true", "-"),
            CALL.replace("true", "[1,]"),
            CALL.replace("true", r#"{"a":1,}"#),
            CALL.replace("true", r#"{"a"}"#),
            CALL.replace("true", "[}"),
            CALL.replace("true", r#""\q""#),
            CALL.replace("true", r#""\u12g4""#),
            CALL.replace("true", "\"a\u{1}b\""),
            CALL.replace("us-west-2", "us\twest"),
            format!("{CALL},"),
            format!("{CALL}{{}}"),
            CALL.trim_end_matches('}').to_string(),
            "[]".to_string(),
        ];
        for case in &unsure {
            assert_eq!(agreed(case, true), Err(Stop::Unsure), "{case}");
        }
        // A key of another format stops the reading, as it stops serde's.
        let event = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get"}"#;
        assert_eq!(agreed(event, true), Err(Stop::Foreign));
        assert_eq!(agreed(event, false), Ok(()));
    }

    /// Random edits of real-shaped records: whatever the scanner accepts
    /// is JSON that serde_json reads into the same record.
    #[test]
    fn edited_records_are_read_as_serde_json_reads_them_or_left_to_it() {
        const ALPHABET: &[u8] = b"{}[]:,\"\\ 0123456789-+.eEtrufalsnu\t\n\x01xZ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut random = |below: usize| {
            // xorshift64*: deterministic, so a failure reproduces.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % below
        };
        let (mut read, mut left) = (0, 0);
        for base in [CALL, ENTRY] {
            for _ in 0..4000 {
                let mut bytes = base.as_bytes().to_vec();
                for _ in 0..1 + random(3) {
                    let at = random(bytes.len());
                    let b = ALPHABET
                        .get(random(ALPHABET.len()))
                        .copied()
                        .unwrap_or(b' ');
                    match random(3) {
                        0 => {
                            bytes.remove(at);
                        }
                        1 => bytes.insert(at, b),
                        _ => {
                            if let Some(slot) = bytes.get_mut(at) {
                                *slot = b;
                            }
                        }
                    }
                }
                let Ok(text) = String::from_utf8(bytes) else {
                    continue;
                };
                match agreed(&text, true) {
                    Ok(()) => read += 1,
                    Err(_) => left += 1,
                }
            }
        }
        // Both outcomes were exercised.
        assert!(read > 1000 && left > 1000, "read {read}, left {left}");
    }

    #[test]
    fn special_bytes_are_found_wherever_they_stand() {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        for byte in 0..=u8::MAX {
            for at in 0..16 {
                let mut chunk = [b'a'; 16];
                if let Some(slot) = chunk.get_mut(at) {
                    *slot = byte;
                }
                let expected = if special(byte) { at } else { 16 };
                assert_eq!(first_special(&chunk), expected, "{byte:#04x} at {at}");
                if let Some(word) = chunk.first_chunk::<8>() {
                    let found = special_bytes(u64::from_le_bytes(*word));
                    assert_eq!(found != 0, special(byte) && at < 8, "{byte:#04x} at {at}");
                }
                #[cfg(target_arch = "x86_64")]
                assert_eq!(special_bytes_16(&chunk), u32::from(special(byte)) << at);
            }
        }
        // Past the last whole step, the rest is the caller's.
        assert_eq!(first_special(&[b'a'; 23]), 16);
        assert_eq!(first_special(&[b'a'; 7]), 0);
        assert_eq!(first_special(b"0123456789abcdefghij\\"), 16);
    }

    #[test]
    fn a_records_line_is_read_record_by_record_until_it_stops() {
        let escaped = CALL.replace(r#""eventName""#, r#""event\u004eame""#);
        let mut seen = Vec::new();
        let line = format!(r#"{{"Records":[{CALL}, {ENTRY} ,{escaped},{CALL}]}}"#);
        let result = records(&line, |record, index| {
            seen.push((index, record.event_name.is_some()));
        });
        // Two records read, then the escaped key left to serde_json.
        assert_eq!(result, Err(Stop::Unsure));
        assert_eq!(seen, [(0, true), (1, false)]);
        seen.clear();
        let whole = format!(" {{ \"Records\" : [ {CALL} , {CALL} ] }} ");
        assert_eq!(records(&whole, |_, index| seen.push((index, true))), Ok(()));
        assert_eq!(seen.len(), 2);
        for other in [
            r#"{"Records":[]}"#.to_string(),
            format!(r#"{{"Records":[{CALL}],"x":1}}"#),
            format!(r#"{{"Records":[{CALL},1]}}"#),
            format!(r#"{{"Records":[{CALL}]}}x"#),
        ] {
            let mut count = 0;
            let result = records(&other, |_, _| count += 1);
            assert_eq!(
                (result.is_ok(), count),
                (other == r#"{"Records":[]}"#, usize::from(other.len() > 20)),
                "{other}"
            );
        }
    }
}
