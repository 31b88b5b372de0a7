//! Streaming JSON: a file of any shape the log tools write, delivered one
//! record at a time without ever holding more than one record in memory.
//!
//! Handled shapes, recognised by content: JSON lines (one value per line,
//! or values just concatenated), a top-level array (`gcloud logging read
//! --format=json`, saved API responses), a CloudTrail `{"Records": [...]}`
//! object (its records are streamed even when the whole file is one line),
//! a Kubernetes audit `EventList` (its `items` streamed), and a single
//! pretty-printed record.
//!
//! Records go to the [`Sink`] as text (a whole line, for the sink's typed
//! reader), as typed records (the objects of a `Records` array, when the
//! sink takes them), or as `Value`s (everything else).
//!
//! Line numbers come from counting the newlines `serde_json` has consumed:
//! it reads the input byte by byte with one byte of look-ahead, so when a
//! record's deserialisation starts its first byte (`{`) has just been read
//! and every newline before it counted.

use crate::typed::{Record, RecordSeed};
use serde::Deserialize as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::cell::Cell;
use std::fmt;
use std::io::{self, Read};
use std::rc::Rc;

/// Where a record starts: its line, and its index when it sits in an array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: u64,
    pub element: Option<(&'static str, u64)>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.line)?;
        if let Some((label, index)) = self.element {
            write!(f, " ({label}[{index}])")?;
        }
        Ok(())
    }
}

/// A hint from the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// A top-level record, or an element of a top-level array.
    None,
    /// An element of a CloudTrail `Records` array.
    CloudTrailRecords,
    /// An element of a Kubernetes audit `EventList`.
    AuditEventList,
}

pub(crate) trait Sink {
    fn record(&mut self, value: Value, at: Position, container: Container);
    /// A record as its text (a whole line, or an element of a one-line
    /// array), offered before it is parsed into a `Value`: `true` when the
    /// sink took it; `false` has it read as before.
    fn typed(&mut self, _json: &str, _at: Position, _container: Container) -> bool {
        false
    }
    /// Whether lines are offered to [`typed`](Sink::typed) and one-line
    /// arrays split; without, every line is read in place as before.
    fn fast_path(&self) -> bool {
        true
    }
    /// Whether the objects of a CloudTrail `Records` array are delivered
    /// to [`cloudtrail_record`](Sink::cloudtrail_record) as typed records
    /// (read where they stand, never built into a `Value`).
    fn takes_cloudtrail_records(&self) -> bool {
        false
    }
    /// An object of a CloudTrail `Records` array, as a typed record.
    fn cloudtrail_record(&mut self, _record: &Record<'_>, _at: Position) {}
    /// A syntax error: the value starting at `start` was abandoned at `line`.
    fn invalid(&mut self, start: u64, line: u64, message: String);
    fn io_error(&mut self, line: u64, error: &io::Error);
}

/// The longest line parsed in one piece (see [`read_records`]); longer
/// lines are streamed from the reader.
const MAX_LINE: usize = 8 * 1024 * 1024;
const BUFFER: usize = 64 * 1024;

/// A buffered reader that counts the newlines it hands out. `serde_json`
/// reads one byte per call, so the one-byte case is served straight from
/// the buffer.
struct Tracked<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    eof: bool,
    max_line: usize,
    newlines: Rc<Cell<u64>>,
    last: Option<u8>,
}

impl<R: Read> Read for Tracked<R> {
    #[inline]
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let ([slot], Some(&b)) = (&mut *out, self.buf.get(self.pos))
            && self.pos < self.filled
        {
            *slot = b;
            self.pos += 1;
            if b == b'\n' {
                self.newlines.set(self.newlines.get() + 1);
            }
            self.last = Some(b);
            return Ok(1);
        }
        if self.pos == self.filled && !self.refill()? {
            return Ok(0);
        }
        let available = self.buf.get(self.pos..self.filled).unwrap_or_default();
        let n = available.len().min(out.len());
        let (Some(from), Some(to)) = (available.get(..n), out.get_mut(..n)) else {
            return Ok(0);
        };
        to.copy_from_slice(from);
        let lines = memchr::memchr_iter(b'\n', from).count() as u64;
        if lines > 0 {
            self.newlines.set(self.newlines.get() + lines);
        }
        self.last = from.last().copied().or(self.last);
        self.pos += n;
        Ok(n)
    }
}

impl<R: Read> Tracked<R> {
    fn new(inner: R, newlines: Rc<Cell<u64>>, max_line: usize, mut buf: Vec<u8>) -> Self {
        if buf.len() < BUFFER {
            buf.resize(BUFFER, 0);
        }
        Tracked {
            inner,
            buf,
            pos: 0,
            filled: 0,
            eof: false,
            max_line,
            newlines,
            last: None,
        }
    }

    /// Read more after `filled`; `false` at the end of the input.
    fn read_more(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        loop {
            let Some(space) = self.buf.get_mut(self.filled..) else {
                return Ok(false);
            };
            match self.inner.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.filled += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Refill the consumed buffer; `false` at the end of the input.
    fn refill(&mut self) -> io::Result<bool> {
        self.pos = 0;
        self.filled = 0;
        self.read_more()
    }

    fn available(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.refill()?;
        }
        Ok(self.buf.get(self.pos..self.filled).unwrap_or_default())
    }

    /// The length of the rest of the current line (without its newline)
    /// when it is, or can be, buffered whole and is at most `max_line`.
    fn whole_line(&mut self) -> io::Result<Option<usize>> {
        let mut searched = 0;
        loop {
            let pending = self.buf.get(self.pos..self.filled).unwrap_or_default();
            let newline = pending
                .get(searched..)
                .and_then(|p| memchr::memchr(b'\n', p));
            let len = match newline {
                Some(i) => Some(searched + i),
                None if self.eof => Some(pending.len()),
                None => None,
            };
            if let Some(len) = len {
                return Ok((len <= self.max_line).then_some(len));
            }
            searched = pending.len();
            if searched > self.max_line {
                return Ok(None);
            }
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.filled, 0);
                self.filled -= self.pos;
                self.pos = 0;
            }
            if self.filled == self.buf.len() {
                let grown = (self.buf.len() * 2).min(self.max_line.max(BUFFER) + 1);
                if grown <= self.buf.len() {
                    return Ok(None);
                }
                self.buf.resize(grown, 0);
            }
            self.read_more()?;
        }
    }

    /// Consume `len` bytes of the current line and its newline.
    fn consume_line(&mut self, len: usize) {
        self.pos = (self.pos + len).min(self.filled);
        if self.buf.get(self.pos) == Some(&b'\n') && self.pos < self.filled {
            self.pos += 1;
            self.newlines.set(self.newlines.get() + 1);
            self.last = Some(b'\n');
        } else {
            self.last = Some(b' ');
        }
    }

    /// Skip whitespace (and a UTF-8 byte-order mark); `false` at the end.
    fn skip_whitespace(&mut self) -> io::Result<bool> {
        loop {
            let buf = self.available()?;
            if buf.is_empty() {
                return Ok(false);
            }
            if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
                self.pos += 3;
                continue;
            }
            let mut skipped = 0;
            let mut lines = 0;
            for &b in buf {
                match b {
                    b' ' | b'\t' | b'\r' => {}
                    b'\n' => lines += 1,
                    _ => break,
                }
                skipped += 1;
            }
            let found = skipped < buf.len();
            let last = skipped.checked_sub(1).and_then(|i| buf.get(i)).copied();
            self.pos += skipped;
            self.newlines.set(self.newlines.get() + lines);
            self.last = last.or(self.last);
            if found {
                return Ok(true);
            }
        }
    }

    /// Skip to the start of the next line, unless already there.
    fn skip_rest_of_line(&mut self) -> io::Result<()> {
        if self.last == Some(b'\n') {
            return Ok(());
        }
        loop {
            let buf = self.available()?;
            if buf.is_empty() {
                return Ok(());
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) => {
                    self.pos += i + 1;
                    self.newlines.set(self.newlines.get() + 1);
                    self.last = Some(b'\n');
                    return Ok(());
                }
                None => self.pos = self.filled,
            }
        }
    }
}

/// Whether `line` is one JSON object or array and nothing else (but
/// whitespace): a structural scan, cheap next to parsing. String contents,
/// most of a log line, are skipped eight bytes at a time.
fn one_value(line: &[u8]) -> bool {
    let mut depth = 0u32;
    let mut closed = false;
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        i += 1;
        match b {
            b' ' | b'\t' | b'\r' => {}
            _ if closed => return false,
            b'"' => match string_end(line, i) {
                Some(end) => i = end,
                None => return false,
            },
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                let Some(d) = depth.checked_sub(1) else {
                    return false;
                };
                depth = d;
                closed = d == 0;
            }
            _ if depth == 0 => return false,
            _ => {}
        }
    }
    closed
}

/// Just past the quote closing the string whose contents start at `from`;
/// `None` when it is not closed.
fn string_end(line: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let at = from + quote_or_backslash(line.get(from..)?)?;
        if line.get(at) == Some(&b'"') {
            return Some(at + 1);
        }
        // A backslash: the byte after it is escaped, whatever it is.
        from = at + 2;
    }
}

/// The index of the first `"` or `\\` in `bytes`.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    memchr::memchr2(b'"', b'\\', bytes)
}

/// Read every record of `reader`, in order, into `sink`.
///
/// A line holding exactly one object or array (JSON lines; a one-line
/// CloudTrail file up to [`MAX_LINE`]) is parsed from the buffer in one
/// piece; anything else (pretty-printed or longer) is streamed through
/// `serde_json`'s reader. Both deliver records one at a time.
///
/// `buffer` is the line buffer, kept between files so that a long line's
/// growth is paid for once.
pub(crate) fn read_records<R: Read>(reader: R, sink: &mut dyn Sink, buffer: &mut Vec<u8>) {
    read_records_with(reader, sink, MAX_LINE, buffer);
}

fn read_records_with<R: Read>(
    reader: R,
    sink: &mut dyn Sink,
    max_line: usize,
    buffer: &mut Vec<u8>,
) {
    let newlines = Rc::new(Cell::new(0));
    let mut input = Tracked::new(
        reader,
        Rc::clone(&newlines),
        max_line,
        std::mem::take(buffer),
    );
    read_all(&mut input, sink, &newlines);
    *buffer = std::mem::take(&mut input.buf);
}

fn read_all<R: Read>(input: &mut Tracked<R>, sink: &mut dyn Sink, newlines: &Rc<Cell<u64>>) {
    let newlines = Rc::clone(newlines);
    loop {
        match input.skip_whitespace() {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => return sink.io_error(newlines.get() + 1, &error),
        }
        let start = newlines.get() + 1;
        // Records of this value already delivered by an attempt that did
        // not read it whole.
        let mut delivered = 0;
        if matches!(input.buf.get(input.pos), Some(b'{' | b'[')) {
            let len = match input.whole_line() {
                Ok(len) => len,
                Err(error) => return sink.io_error(start, &error),
            };
            let line = len.and_then(|len| input.buf.get(input.pos..input.pos + len));
            // The fast path first: the line offered whole (taken only if
            // it is one record, which is what `one_value` would establish),
            // then a one-line array split into its records.
            let fast = line.filter(|_| sink.fast_path());
            // (simdutf8: the line is checked whole, with SIMD where the CPU has it.)
            if let Some(text) = fast.and_then(|l| simdutf8::basic::from_utf8(l).ok()) {
                let at = Position {
                    line: start,
                    element: None,
                };
                if sink.typed(text, at, Container::None) {
                    input.consume_line(text.len());
                    continue;
                }
                // A CloudTrail file's one line: parsed where it stands, its
                // records delivered as they come. Should it turn out not to
                // be one whole value, it is read again below, the records
                // already delivered skipped.
                if is_records_line(text) && sink.takes_cloudtrail_records() {
                    // The scanner first, then serde_json for what it leaves.
                    let mut scanned = 0;
                    let scan = crate::scan::records(text, |record, index| {
                        let at = Position {
                            line: start,
                            element: Some(("Records", index)),
                        };
                        sink.cloudtrail_record(record, at);
                        scanned += 1;
                    });
                    if scan.is_ok() {
                        input.consume_line(text.len());
                        continue;
                    }
                    let mut counted = Replay {
                        sink: &mut *sink,
                        skip: scanned,
                        delivered: 0,
                    };
                    if read_whole(text, &mut counted, &newlines, start) {
                        input.consume_line(text.len());
                        continue;
                    }
                    delivered = scanned + counted.delivered;
                } else if read_split(text, &mut *sink, &newlines, start) {
                    input.consume_line(text.len());
                    continue;
                }
            }
            let mut replay = Replay {
                sink: &mut *sink,
                skip: delivered,
                delivered: 0,
            };
            if let Some(line) = line.filter(|l| one_value(l)) {
                let len = line.len();
                read_in_place(line, &mut replay, &newlines, start);
                input.consume_line(len);
                continue;
            }
        }
        let result = {
            let mut deserializer = serde_json::Deserializer::from_reader(&mut *input);
            TopLevel {
                sink: &mut Replay {
                    sink: &mut *sink,
                    skip: delivered,
                    delivered: 0,
                },
                newlines: &newlines,
                start,
            }
            .deserialize(&mut deserializer)
        };
        let Err(error) = result else { continue };
        if error.is_io() {
            let io = io::Error::other(strip_position(&error));
            return sink.io_error(newlines.get() + 1, &io);
        }
        let line = newlines.get() + u64::from(input.last != Some(b'\n'));
        sink.invalid(start, line.max(start), strip_position(&error));
        if error.is_eof() {
            return;
        }
        if let Err(error) = input.skip_rest_of_line() {
            return sink.io_error(newlines.get() + 1, &error);
        }
    }
}

/// Whether `line` starts as a CloudTrail file does, `{"Records":[`.
fn is_records_line(line: &str) -> bool {
    let mut rest = line.trim_start();
    for token in ["{", "\"Records\"", ":", "["] {
        match rest.strip_prefix(token) {
            Some(after) => rest = after.trim_start(),
            None => return false,
        }
    }
    true
}

/// Parse `line` in place, records delivered as they come: `true` when it
/// was one whole value. Nothing is reported: on `false` the caller reads
/// the line again.
/// (From `str`: its UTF-8 was checked once, not string by string.)
fn read_whole(line: &str, sink: &mut dyn Sink, newlines: &Rc<Cell<u64>>, start: u64) -> bool {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    TopLevel {
        sink,
        newlines,
        start,
    }
    .deserialize(&mut deserializer)
    .and_then(|()| deserializer.end())
    .is_ok()
}

/// Parse a line holding one value from the buffer, records delivered as
/// they come.
fn read_in_place(line: &[u8], sink: &mut dyn Sink, newlines: &Rc<Cell<u64>>, start: u64) {
    let mut deserializer = serde_json::Deserializer::from_slice(line);
    let result = TopLevel {
        sink: &mut *sink,
        newlines,
        start,
    }
    .deserialize(&mut deserializer);
    if let Err(error) = result {
        sink.invalid(start, start, strip_position(&error));
    }
}

/// Deepest nesting inside a split record: past it, the line is left to
/// `read_in_place`, so that `serde_json`'s depth limit (counted from the
/// line, not the record) applies as before.
const MAX_SPLIT_DEPTH: u32 = 64;

/// A one-line array of records, `[...]`, cut into its elements by a
/// structural scan (the one `one_value` does), so that each can be offered
/// to [`Sink::typed`] as text; the spans of its elements. `None` for any
/// other shape, which is read in place as before. (A CloudTrail file's
/// `{"Records":[...]}` line is read whole, by `read_all`.)
fn split_records(line: &str) -> Option<Vec<(usize, usize)>> {
    let bytes = line.as_bytes();
    let ws = |mut i: usize| {
        while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            i += 1;
        }
        i
    };
    let mut i = ws(0);
    if bytes.get(i) != Some(&b'[') {
        return None;
    }
    i = ws(i + 1);
    let mut spans = Vec::new();
    if bytes.get(i) == Some(&b']') {
        i = ws(i + 1);
    } else {
        loop {
            let end = value_end(bytes, i)?;
            spans.push((i, end));
            i = ws(end);
            match bytes.get(i) {
                Some(b',') => i = ws(i + 1),
                Some(b']') => {
                    i = ws(i + 1);
                    break;
                }
                _ => return None,
            }
        }
    }
    (i == bytes.len()).then_some(spans)
}

/// Just past the value starting at `i`, by structure alone (its syntax is
/// checked when it is parsed). A scalar stops at anything `one_value`
/// would read as structure, so a line that splits is one `one_value`
/// accepts.
fn value_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => string_end(bytes, i + 1),
        b'{' | b'[' => {
            let mut depth = 0u32;
            loop {
                let b = *bytes.get(i)?;
                i += 1;
                match b {
                    b'"' => i = string_end(bytes, i)?,
                    b'{' | b'[' => {
                        depth += 1;
                        if depth > MAX_SPLIT_DEPTH {
                            return None;
                        }
                    }
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {
            while !matches!(
                bytes.get(i),
                None | Some(b',' | b'[' | b']' | b'{' | b'}' | b'"' | b' ' | b'\t' | b'\r' | b'\n')
            ) {
                i += 1;
            }
            Some(i)
        }
    }
}

/// Read a one-line array record by record (see [`split_records`]); `false`
/// when the line is not one. A record that does not parse has the whole
/// line read in place again, the records already delivered skipped, so
/// that it is reported (and whatever follows it dropped) exactly as before.
fn read_split(line: &str, sink: &mut dyn Sink, newlines: &Rc<Cell<u64>>, start: u64) -> bool {
    let Some(spans) = split_records(line) else {
        return false;
    };
    let container = Container::None;
    for (index, &(from, to)) in spans.iter().enumerate() {
        let json = line.get(from..to).unwrap_or_default();
        let at = Position {
            line: start,
            element: Some(("", index as u64)),
        };
        if sink.typed(json, at, container) {
            continue;
        }
        match serde_json::from_str::<Value>(json) {
            Ok(value) => sink.record(value, at, container),
            Err(_) => {
                let mut replay = Replay {
                    sink,
                    skip: index,
                    delivered: 0,
                };
                read_in_place(line.as_bytes(), &mut replay, newlines, start);
                return true;
            }
        }
    }
    true
}

/// A sink that drops the first `skip` records (a line read again) and
/// counts the records it passes on.
struct Replay<'a> {
    sink: &'a mut dyn Sink,
    skip: usize,
    delivered: usize,
}

impl Replay<'_> {
    /// Whether the next record is passed on.
    fn pass(&mut self) -> bool {
        match self.skip.checked_sub(1) {
            Some(left) => {
                self.skip = left;
                false
            }
            None => {
                self.delivered += 1;
                true
            }
        }
    }
}

impl Sink for Replay<'_> {
    fn record(&mut self, value: Value, at: Position, container: Container) {
        if self.pass() {
            self.sink.record(value, at, container);
        }
    }

    fn fast_path(&self) -> bool {
        self.sink.fast_path()
    }

    fn takes_cloudtrail_records(&self) -> bool {
        self.sink.takes_cloudtrail_records()
    }

    fn cloudtrail_record(&mut self, record: &Record<'_>, at: Position) {
        if self.pass() {
            self.sink.cloudtrail_record(record, at);
        }
    }

    fn invalid(&mut self, start: u64, line: u64, message: String) {
        self.sink.invalid(start, line, message);
    }

    fn io_error(&mut self, line: u64, error: &io::Error) {
        self.sink.io_error(line, error);
    }
}

/// serde_json's message without its " at line L column C" (relative to
/// where this deserialiser started, so misleading here).
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_string(),
        None => text,
    }
}

/// A visitor's `visit_*` for JSON scalars, each handing the scalar as a
/// `Value` to the visitor's own `$scalar` method.
macro_rules! scalars_to {
    ($scalar:ident -> $out:ty) => {
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<$out, E> {
            self.$scalar(Value::Bool(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$out, E> {
            self.$scalar(Value::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$out, E> {
            self.$scalar(Value::from(v))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$out, E> {
            self.$scalar(Value::from(v))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<$out, E> {
            self.$scalar(Value::from(v))
        }
        fn visit_unit<E: de::Error>(self) -> Result<$out, E> {
            self.$scalar(Value::Null)
        }
    };
}

struct TopLevel<'a> {
    sink: &'a mut dyn Sink,
    newlines: &'a Rc<Cell<u64>>,
    start: u64,
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        stream_elements(seq, self.sink, self.newlines, "", Container::None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut fields = Map::new();
        let mut streamed = false;
        while let Some(key) = map.next_key::<String>()? {
            if streamed {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            let container = if key == "Records" {
                Some(("Records", Container::CloudTrailRecords))
            } else if key == "items"
                && fields.get("kind").and_then(Value::as_str) == Some("EventList")
            {
                Some(("items", Container::AuditEventList))
            } else {
                None
            };
            match container {
                Some((label, container)) => {
                    match map.next_value_seed(List {
                        sink: &mut *self.sink,
                        newlines: self.newlines,
                        label,
                        container,
                    })? {
                        Listed::Streamed => streamed = true,
                        Listed::Value(value) => {
                            fields.insert(key, value);
                        }
                    }
                }
                None => {
                    let value = map.next_value::<Value>()?;
                    fields.insert(key, value);
                }
            }
        }
        if !streamed {
            let at = Position {
                line: self.start,
                element: None,
            };
            self.sink.record(Value::Object(fields), at, Container::None);
        }
        Ok(())
    }

    scalars_to!(scalar -> ());
}

impl TopLevel<'_> {
    fn scalar<E>(self, value: Value) -> Result<(), E> {
        let at = Position {
            line: self.start,
            element: None,
        };
        self.sink.record(value, at, Container::None);
        Ok(())
    }
}

fn stream_elements<'de, A: SeqAccess<'de>>(
    mut seq: A,
    sink: &mut dyn Sink,
    newlines: &Rc<Cell<u64>>,
    label: &'static str,
    container: Container,
) -> Result<(), A::Error> {
    let mut index = 0;
    while seq
        .next_element_seed(Element {
            sink: &mut *sink,
            newlines,
            label,
            index,
            container,
        })?
        .is_some()
    {
        index += 1;
    }
    Ok(())
}

struct Element<'a> {
    sink: &'a mut dyn Sink,
    newlines: &'a Rc<Cell<u64>>,
    label: &'static str,
    index: u64,
    container: Container,
}

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // The element's first byte has been read (serde peeked it to find
        // the element), so the newlines counted so far all precede it.
        let line = self.newlines.get() + 1;
        let at = Position {
            line,
            element: Some((self.label, self.index)),
        };
        if self.container == Container::CloudTrailRecords && self.sink.takes_cloudtrail_records() {
            return deserializer.deserialize_any(RecordsElement {
                sink: self.sink,
                at,
            });
        }
        let value = Value::deserialize(deserializer)?;
        self.sink.record(value, at, self.container);
        Ok(())
    }
}

/// An element of a CloudTrail `Records` array, for a sink that takes
/// typed records: an object is read as one, anything else as a `Value`
/// (to be reported as what it is).
struct RecordsElement<'a> {
    sink: &'a mut dyn Sink,
    at: Position,
}

impl RecordsElement<'_> {
    fn scalar<E>(self, value: Value) -> Result<(), E> {
        self.sink
            .record(value, self.at, Container::CloudTrailRecords);
        Ok(())
    }
}

impl<'de> Visitor<'de> for RecordsElement<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let mut record = Record::default();
        RecordSeed {
            foreign_declines: false,
            out: &mut record,
        }
        .visit_map(map)?;
        self.sink.cloudtrail_record(&record, self.at);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        self.scalar(value)
    }
    scalars_to!(scalar -> ());
}

enum Listed {
    Streamed,
    Value(Value),
}

/// The value of `Records` / `items`: streamed when it is an array, kept
/// as a value otherwise (then the object is an ordinary record).
struct List<'a> {
    sink: &'a mut dyn Sink,
    newlines: &'a Rc<Cell<u64>>,
    label: &'static str,
    container: Container,
}

impl<'de> DeserializeSeed<'de> for List<'_> {
    type Value = Listed;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Listed, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for List<'_> {
    type Value = Listed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Listed, A::Error> {
        stream_elements(seq, self.sink, self.newlines, self.label, self.container)?;
        Ok(Listed::Streamed)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Listed, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Listed::Value)
    }

    scalars_to!(scalar -> Listed);
}

impl List<'_> {
    fn scalar<E>(self, value: Value) -> Result<Listed, E> {
        Ok(Listed::Value(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect {
        records: Vec<(String, Value, Container)>,
        invalid: Vec<(u64, u64, String)>,
    }

    impl Sink for Collect {
        fn record(&mut self, value: Value, at: Position, container: Container) {
            self.records.push((at.to_string(), value, container));
        }
        fn invalid(&mut self, start: u64, line: u64, message: String) {
            self.invalid.push((start, line, message));
        }
        fn io_error(&mut self, line: u64, error: &io::Error) {
            self.invalid.push((line, line, error.to_string()));
        }
    }

    fn read(text: &str) -> Collect {
        let mut sink = Collect::default();
        read_records(text.as_bytes(), &mut sink, &mut Vec::new());
        sink
    }

    fn positions(c: &Collect) -> Vec<&str> {
        c.records.iter().map(|(p, _, _)| p.as_str()).collect()
    }

    #[test]
    fn json_lines_and_concatenated_values() {
        let c = read("{\"a\":1}\n\n{\"a\":2}{\"a\":3}\r\n  {\"a\":4}\n");
        assert_eq!(positions(&c), ["1", "3", "3", "4"]);
        assert!(c.invalid.is_empty());
    }

    #[test]
    fn arrays_records_and_event_lists_are_streamed() {
        let c = read("[\n  {\"a\": 1},\n  {\n    \"a\": 2\n  }\n]\n");
        assert_eq!(positions(&c), ["2 ([0])", "3 ([1])"]);
        let c = read("{\"Records\":[{\"eventName\":\"A\"},{\"eventName\":\"B\"}]}");
        assert_eq!(positions(&c), ["1 (Records[0])", "1 (Records[1])"]);
        assert!(
            c.records
                .iter()
                .all(|(_, _, k)| *k == Container::CloudTrailRecords)
        );
        let c = read(
            "{\"kind\":\"EventList\",\"apiVersion\":\"audit.k8s.io/v1\",\"items\":[\n{\"verb\":\"get\"},\n{\"verb\":\"list\"}]}",
        );
        assert_eq!(positions(&c), ["2 (items[0])", "3 (items[1])"]);
        assert!(
            c.records
                .iter()
                .all(|(_, _, k)| *k == Container::AuditEventList)
        );
        // `items` in an ordinary object is not streamed.
        let c = read("{\"items\":[1,2],\"kind\":\"List\"}");
        assert_eq!(positions(&c), ["1"]);
    }

    #[test]
    fn a_bad_line_is_reported_and_reading_goes_on() {
        let c = read(
            "{\"a\":1}\n{\"a\" 2}\n{\"a\":3}\n\"x\n{\"a\":5}\n{\"a\":\n{\"a\":7}\n{\"a\":8}\n{\"a\":9}",
        );
        assert_eq!(positions(&c), ["1", "3", "5", "9"]);
        let spans: Vec<(u64, u64)> = c.invalid.iter().map(|(s, l, _)| (*s, *l)).collect();
        // Line 2 is bad on its own line; line 4 breaks on its newline (a raw
        // control character in a string); line 6 is truncated, so its value
        // swallows line 7 and the error only shows on line 8, which is
        // skipped too: all reported as lines 6..8.
        assert_eq!(spans, [(2, 2), (4, 4), (6, 8)]);
        assert!(!c.invalid[0].2.contains(" at line "), "{}", c.invalid[0].2);
    }

    #[test]
    fn long_lines_are_streamed_the_same() {
        let records: Vec<String> = (0..200)
            .map(|i| format!("{{\"eventName\":\"E{i}\",\"pad\":\"{}\"}}", "x".repeat(i)))
            .collect();
        let text = format!(
            "{{\"Records\":[{}]}}\n{{\"a\":1}}\n[{{\"b\":2}},\n{{\"b\":3}}]\n",
            records.join(",")
        );
        let mut whole = Collect::default();
        read_records_with(text.as_bytes(), &mut whole, MAX_LINE, &mut Vec::new());
        for max_line in [0, 100, 5_000, 20_000] {
            let mut streamed = Collect::default();
            read_records_with(text.as_bytes(), &mut streamed, max_line, &mut Vec::new());
            assert_eq!(streamed.records, whole.records, "max_line {max_line}");
            assert!(streamed.invalid.is_empty());
        }
        assert_eq!(whole.records.len(), 203);
        assert_eq!(positions(&whole)[199], "1 (Records[199])");
        assert_eq!(&positions(&whole)[200..], ["2", "3 ([0])", "4 ([1])"]);
    }

    #[test]
    fn one_value_per_line_is_recognised() {
        for yes in [
            "{}",
            "[]",
            "{\"a\":[1,{\"b\":\"}\\\"{\"}]}  \r",
            "[{\"a\":1},{\"b\":2}]",
        ] {
            assert!(one_value(yes.as_bytes()), "{yes}");
        }
        for no in [
            "{",
            "{\"a\":1} {\"b\":2}",
            "{}x",
            "}{",
            "{\"a\":\"}",
            "[1]]",
        ] {
            assert!(!one_value(no.as_bytes()), "{no}");
        }
    }

    /// The byte-at-a-time scan `one_value` replaced, as the reference.
    fn one_value_bytewise(line: &[u8]) -> bool {
        let (mut depth, mut in_string, mut escaped, mut closed) = (0u32, false, false, false);
        for &b in line {
            if in_string {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    in_string = false;
                }
                continue;
            }
            match b {
                b' ' | b'\t' | b'\r' => {}
                _ if closed => return false,
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    let Some(d) = depth.checked_sub(1) else {
                        return false;
                    };
                    depth = d;
                    closed = d == 0;
                }
                _ if depth == 0 => return false,
                _ => {}
            }
        }
        closed
    }

    #[test]
    fn one_value_agrees_with_a_bytewise_scan() {
        // Every line of up to 5 tokens from an alphabet rich in quotes and
        // escapes, alone and inside a string-keyed object whose key length
        // moves it across every offset of an eight-byte word.
        let tokens: [&[u8]; 9] = [b"{", b"}", b"[", b"]", b"\"", b"\\", b"ab", b" ", b":1,"];
        let mut bodies: Vec<Vec<u8>> = vec![Vec::new()];
        let mut last: Vec<Vec<u8>> = vec![Vec::new()];
        for _ in 0..5 {
            last = last
                .iter()
                .flat_map(|line| tokens.iter().map(move |t| [line.as_slice(), t].concat()))
                .collect();
            bodies.extend(last.iter().cloned());
        }
        for body in &bodies {
            assert_eq!(
                one_value(body),
                one_value_bytewise(body),
                "{}",
                String::from_utf8_lossy(body)
            );
            let pad = body.len() % 8;
            let line = [b"{\"".as_slice(), &b"xxxxxxx"[..pad], b"\":", body, b"}"].concat();
            assert_eq!(
                one_value(&line),
                one_value_bytewise(&line),
                "{}",
                String::from_utf8_lossy(&line)
            );
        }
        assert_eq!(bodies.len(), 66_430);
    }

    #[test]
    fn one_line_arrays_are_split_into_their_records() {
        let spans = |line: &str| {
            split_records(line).map(|spans| {
                let texts: Vec<&str> = spans.iter().map(|&(from, to)| &line[from..to]).collect();
                texts.join("|")
            })
        };
        assert_eq!(
            spans(r#" [ {"a":"]}"} , {"b":[1,{}]} ] "#),
            Some(r#"{"a":"]}"}|{"b":[1,{}]}"#.to_string())
        );
        assert_eq!(spans("[]"), Some(String::new()));
        assert_eq!(
            spans(r#"[1, "x\"", null,{}]"#),
            Some(r#"1|"x\""|null|{}"#.to_string())
        );
        // Anything else is read in place, as before: a CloudTrail file's
        // line too, unless the sink takes typed records (then `read_all`
        // reads it whole).
        for other in [
            r#"{"Records":[{}]}"#,
            r#"{"Records":[{}],"x":1}"#,
            r#"{"x":1,"Records":[{}]}"#,
            r#"{"Records":{}}"#,
            r#"[{} {}]"#,
            r#"[{}]]"#,
            r#"[{"a":1}"#,
            r#"[tr"ue]"#,
        ] {
            assert_eq!(spans(other), None, "{other}");
        }
        let deep = format!("[{}{}]", "[".repeat(65), "]".repeat(65));
        assert_eq!(spans(&deep), None);
        // A record that does not parse has the line read as before.
        let c = read("{\"Records\":[{\"a\":1},{\"a\":tru},{\"a\":3}]}\n{\"a\":4}");
        assert_eq!(positions(&c), ["1 (Records[0])", "2"]);
        assert_eq!(c.invalid.len(), 1);
    }

    #[test]
    fn truncated_end_is_reported_once() {
        let c = read("[{\"a\":1},\n{\"a\":");
        assert_eq!(positions(&c), ["1 ([0])"]);
        assert_eq!(c.invalid.len(), 1);
        assert!(c.invalid[0].2.contains("EOF"), "{:?}", c.invalid);
    }
}
