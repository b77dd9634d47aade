//! The request decoder: Redis's `processMultibulkBuffer` and `processInlineBuffer` (networking.c, 7.0), rewritten
//! as a resumable state machine over the caller's query buffer.
//!
//! The decoder never owns the query bytes. The caller keeps one buffer of unconsumed input and calls
//! [`RequestDecoder::decode`] with it every time more bytes arrive. The decoder remembers where it stopped (the
//! start of the line or bulk it is waiting for, and how far it already searched for the line end), so a command
//! that trickles in over many reads is still parsed in linear time. Multibulk arguments are returned as spans into
//! the caller's buffer; inline arguments (which `sdssplitargs` unescapes) are copied into an internal scratch buffer.
//!
//! Faithfulness notes (all checked against redis-server 7.0.15):
//! * Line ends are found the way Redis finds them, with `strchr`: the search stops at a NUL byte, so a NUL before
//!   the line end hides it for good and the request can only end in a "too big ..." error once more than 64 KiB
//!   are buffered.
//! * A multibulk or bulk-length line ends at the first `'\r'`, and the byte after it is skipped without being
//!   checked; likewise the two bytes after a bulk payload are skipped without being checked.
//! * The "too big ..." errors are raised only while no line end is in sight and more than 64 KiB are buffered from
//!   the start of the line, so (as in Redis) they depend on how much the caller has read when it calls `decode`.

use crate::protocol::split_args::split_args;

/// Longest inline request, multibulk-count line or bulk-length line Redis buffers while waiting for its line end
/// (`PROTO_INLINE_MAX_SIZE`).
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Largest multibulk count an unauthenticated client may send.
pub const UNAUTH_MAX_MULTIBULK_LEN: i64 = 10;
/// Largest bulk length an unauthenticated client may send.
pub const UNAUTH_MAX_BULK_LEN: i64 = 16384;
/// Default `proto-max-bulk-len`: 512 MB.
pub const DEFAULT_MAX_BULK_LEN: u64 = 512 * 1024 * 1024;

/// How many argument slots to reserve up front at most, whatever count the client announces (Redis: 1024).
const MAX_PREALLOC_ARGS: usize = 1024;
/// Scratch buffers bigger than this are released when the next command starts, so one huge command does not pin
/// its memory for the life of the connection.
const KEEP_SPANS: usize = 16 * 1024;
const KEEP_INLINE_BYTES: usize = 2 * PROTO_INLINE_MAX_SIZE;

/// Limits read from config on each decode call.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`, default 512mb. Redis does not apply it to its master link; pass `u64::MAX` there.
    pub max_bulk_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk_len: DEFAULT_MAX_BULK_LEN }
    }
}

/// What `decode` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoded {
    /// A whole command is ready; `args()` returns it. The caller consumes `consumed` bytes afterwards.
    Command { consumed: usize },
    /// Bytes consumed but no command (an empty inline line, or `*0\r\n` / `*-1\r\n`): skip them.
    Nothing { consumed: usize },
    /// Need more input. Call again later with the same unconsumed bytes plus more appended.
    Incomplete,
}

/// A protocol violation: reply `-ERR Protocol error: {0}` and close the connection. `.0` is exactly Redis's text
/// after "Protocol error: ", e.g. "invalid bulk length" or "expected '$', got 'x'".
///
/// The only variable part is the byte in "expected '$', got '%c'". Redis writes it raw, except that `'\r'` and
/// `'\n'` become spaces (its error replies may not contain line breaks). A byte of 0x80 or more cannot be kept raw
/// in a `String`, so it is stored as the char with the same number (U+0080..=U+00FF); [`ProtocolError::message_bytes`]
/// turns the text back into Redis's exact bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(text: &str) -> Self {
        ProtocolError(text.to_owned())
    }

    /// The message as the bytes Redis sends after "Protocol error: " (chars up to U+00FF become one byte each).
    pub fn message_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len());
        for c in self.0.chars() {
            match u8::try_from(u32::from(c)) {
                Ok(b) => out.push(b),
                Err(_) => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
            }
        }
        out
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// Where the decoder is inside the command in progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// No command in progress: the next `decode` starts a new one at `buf[0]`.
    Idle,
    /// Looking for the `'\n'` that ends an inline request.
    Inline,
    /// Looking for the end of the `*<count>` line.
    Count,
    /// Looking for the end of the `$<len>` line that starts at `pos`.
    BulkHeader,
    /// Waiting for `bulk_len` payload bytes plus two at `pos`.
    BulkBody,
}

/// Outcome of the search for the end of a header line.
enum LineEnd {
    /// The `'\r'` is at this index and at least one byte follows it.
    Found(usize),
    /// The `'\r'` is the last buffered byte: wait, without any size check (Redis does the same).
    Partial,
    /// No line end in sight (none yet, or a NUL hides it): wait, unless too much is buffered.
    Missing,
}

/// A resumable Redis request decoder. One per connection.
#[derive(Debug)]
pub struct RequestDecoder {
    state: State,
    /// Start of the element being decoded (header line or payload), as an offset into the caller's buffer.
    pos: usize,
    /// Where the search for the current line end resumes (everything before it has been searched).
    scan: usize,
    /// A NUL byte precedes the current line end, which `strchr` will therefore never find.
    blocked: bool,
    /// Bulks still to read in the multibulk command in progress.
    pending: usize,
    /// Payload length of the bulk being waited for.
    bulk_len: u64,
    /// Buffer length at the last `Incomplete`, to notice a caller that hands back less than before.
    seen: usize,
    /// `bytes_wanted` hint.
    wanted: usize,
    /// The current command came in inline form.
    inline: bool,
    /// `spans` describe a complete command (set by `Command`, cleared by the next `decode`).
    ready: bool,
    /// Argument spans `(start, end)`: into the caller's buffer (multibulk) or into `inline_data` (inline).
    spans: Vec<(usize, usize)>,
    /// Unescaped inline arguments, back to back.
    inline_data: Vec<u8>,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestDecoder {
    pub fn new() -> Self {
        RequestDecoder {
            state: State::Idle,
            pos: 0,
            scan: 0,
            blocked: false,
            pending: 0,
            bulk_len: 0,
            seen: 0,
            wanted: 0,
            inline: false,
            ready: false,
            spans: Vec::new(),
            inline_data: Vec::new(),
        }
    }

    /// Forgets any command in progress (e.g. when the caller discards its query buffer).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.ready = false;
        self.wanted = 0;
    }

    /// `buf` = the caller's unconsumed query bytes, starting at the command in progress. Resumes from saved state
    /// (bytes already parsed are not looked at again, so a command arriving in many small reads stays linear).
    ///
    /// `auth_required`: true while the client is not authenticated (requirepass set): then multibulk counts above
    /// 10 and bulk lengths above 16384 are rejected.
    ///
    /// Handing back fewer bytes than the previous `Incomplete` call saw is a caller bug; the decoder then starts
    /// the command over from `buf[0]` rather than panic.
    pub fn decode(&mut self, buf: &[u8], limits: &Limits, auth_required: bool) -> Result<Decoded, ProtocolError> {
        self.ready = false;
        self.wanted = 0;
        if self.state != State::Idle && buf.len() < self.seen {
            self.state = State::Idle;
        }
        if self.state == State::Idle {
            let Some(&first) = buf.first() else {
                return Ok(Decoded::Incomplete);
            };
            self.start(first != b'*');
        }
        let result =
            if self.inline { self.decode_inline(buf) } else { self.decode_multibulk(buf, limits, auth_required) };
        match result {
            Ok(Decoded::Incomplete) => self.seen = buf.len(),
            Ok(Decoded::Command { .. }) => {
                self.ready = true;
                self.state = State::Idle;
            }
            _ => self.state = State::Idle,
        }
        result
    }

    /// The arguments of the command just returned by `Command`; `buf` must be the same slice passed to decode.
    /// Valid until the next decode call. Empty if the last `decode` did not return `Command`, or if `buf` is too
    /// short to be that slice.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> Args<'a> {
        if !self.ready {
            return Args::EMPTY;
        }
        let data: &'a [u8] = if self.inline { &self.inline_data } else { buf };
        match self.spans.last() {
            Some(&(_, end)) if end > data.len() => Args::EMPTY,
            _ => Args { data, spans: &self.spans },
        }
    }

    /// Size hint: how many more bytes the command in progress needs at least (the rest of the bulk being
    /// received, including its trailing CRLF), so the caller can reserve; 0 if unknown.
    pub fn bytes_wanted(&self) -> usize {
        self.wanted
    }

    /// True if the command in progress (or the one just returned) came in inline form.
    pub fn is_inline(&self) -> bool {
        self.inline
    }

    /// Starts a new command at `buf[0]`.
    fn start(&mut self, inline: bool) {
        if self.spans.capacity() > KEEP_SPANS {
            self.spans = Vec::new();
        } else {
            self.spans.clear();
        }
        if self.inline_data.capacity() > KEEP_INLINE_BYTES {
            self.inline_data = Vec::new();
        } else {
            self.inline_data.clear();
        }
        self.pos = 0;
        self.scan = 0;
        self.blocked = false;
        self.pending = 0;
        self.inline = inline;
        self.state = if inline { State::Inline } else { State::Count };
    }

    /// Finds the `'\r'` ending the header line at `self.pos`, as `strchr(line, '\r')` plus Redis's check that one
    /// more byte is buffered. Resumes the search where the previous call left it.
    fn line_end(&mut self, buf: &[u8]) -> LineEnd {
        if self.blocked {
            return LineEnd::Missing;
        }
        // `scan` may still point into an earlier line: never search before the current one.
        let from = self.scan.max(self.pos);
        let rest = buf.get(from..).unwrap_or_default();
        match rest.iter().position(|&b| b == b'\r' || b == 0) {
            Some(i) => {
                let at = from + i;
                self.scan = at;
                if rest[i] == 0 {
                    self.blocked = true;
                    LineEnd::Missing
                } else if at + 1 < buf.len() {
                    LineEnd::Found(at)
                } else {
                    LineEnd::Partial
                }
            }
            None => {
                self.scan = buf.len();
                LineEnd::Missing
            }
        }
    }

    /// No line end yet: wait, unless more than `PROTO_INLINE_MAX_SIZE` bytes are buffered from the line start.
    fn wait_for_line(&self, buf: &[u8], too_big: &str) -> Result<Decoded, ProtocolError> {
        if buf.len() - self.pos > PROTO_INLINE_MAX_SIZE {
            Err(ProtocolError::new(too_big))
        } else {
            Ok(Decoded::Incomplete)
        }
    }

    /// The exact (slow) path for the header line at `self.pos`: `Ok(Some((number, index of '\r')))` once the line
    /// is complete and well formed, `Ok(None)` to wait for more input, or the error Redis gives.
    #[cold]
    #[inline(never)]
    fn header_line(
        &mut self,
        buf: &[u8],
        marker: u8,
        too_big: &'static str,
        invalid: &'static str,
    ) -> Result<Option<(i64, usize)>, ProtocolError> {
        let cr = match self.line_end(buf) {
            LineEnd::Found(cr) => cr,
            LineEnd::Partial => return Ok(None),
            LineEnd::Missing => return self.wait_for_line(buf, too_big).map(|_| None),
        };
        let pos = self.pos;
        // pos <= cr < buf.len(). The count line starts with the '*' that selected it, so only a bulk header can
        // fail this check.
        let got = buf.get(pos).copied().unwrap_or(b'\r');
        if got != marker {
            return Err(expected_dollar(got));
        }
        match string2ll(buf.get(pos + 1..cr).unwrap_or_default()) {
            Some(n) => Ok(Some((n, cr))),
            None => Err(ProtocolError::new(invalid)),
        }
    }

    fn decode_multibulk(&mut self, buf: &[u8], limits: &Limits, auth_required: bool) -> Result<Decoded, ProtocolError> {
        let mut pending = self.pending;
        let mut pos = self.pos;
        let mut in_body = self.state == State::BulkBody;
        let mut bulk_len = self.bulk_len;
        if self.state == State::Count {
            let (count, cr) = match quick_number(buf, 1) {
                // buf[0] is the '*' that selected this state.
                Some((n, cr)) => (n as i64, cr),
                None => match self.header_line(buf, b'*', "too big mbulk count string", "invalid multibulk length")? {
                    Some(parsed) => parsed,
                    None => return Ok(Decoded::Incomplete),
                },
            };
            if count > i64::from(i32::MAX) {
                return Err(ProtocolError::new("invalid multibulk length"));
            }
            if count > UNAUTH_MAX_MULTIBULK_LEN && auth_required {
                return Err(ProtocolError::new("unauthenticated multibulk length"));
            }
            pos = cr + 2;
            if count <= 0 {
                return Ok(Decoded::Nothing { consumed: pos });
            }
            // 1 <= count <= i32::MAX, so this fits any usize of 32 bits or more.
            pending = count as usize;
            self.spans.reserve(pending.min(MAX_PREALLOC_ARGS));
        }
        loop {
            if !in_body {
                let fast = match buf.get(pos) {
                    Some(&b'$') => quick_number(buf, pos + 1),
                    _ => None,
                };
                let (len, cr) = match fast {
                    Some((n, cr)) => (n as i64, cr),
                    None => {
                        self.pos = pos;
                        self.pending = pending;
                        self.state = State::BulkHeader;
                        match self.header_line(buf, b'$', "too big bulk count string", "invalid bulk length")? {
                            Some(parsed) => parsed,
                            None => return Ok(Decoded::Incomplete),
                        }
                    }
                };
                if len < 0 || len as u64 > limits.max_bulk_len {
                    return Err(ProtocolError::new("invalid bulk length"));
                }
                if len > UNAUTH_MAX_BULK_LEN && auth_required {
                    return Err(ProtocolError::new("unauthenticated bulk length"));
                }
                bulk_len = len as u64;
                pos = cr + 2;
            }
            // The payload and the two bytes after it (not checked, as in Redis).
            let avail = (buf.len() - pos) as u64;
            let need = bulk_len + 2;
            if avail < need {
                self.wanted = usize::try_from(need - avail).unwrap_or(usize::MAX);
                self.pos = pos;
                self.pending = pending;
                self.bulk_len = bulk_len;
                self.state = State::BulkBody;
                return Ok(Decoded::Incomplete);
            }
            // need <= avail, so the payload lies inside `buf` and the casts are lossless.
            let end = pos + bulk_len as usize;
            self.spans.push((pos, end));
            pos = end + 2;
            pending -= 1;
            if pending == 0 {
                return Ok(Decoded::Command { consumed: pos });
            }
            in_body = false;
        }
    }

    fn decode_inline(&mut self, buf: &[u8]) -> Result<Decoded, ProtocolError> {
        // strchr(line, '\n'): the search ends at the first NUL.
        let newline = if self.blocked {
            None
        } else {
            let from = self.scan;
            let rest = buf.get(from..).unwrap_or_default();
            match rest.iter().position(|&b| b == b'\n' || b == 0) {
                Some(i) if rest[i] == b'\n' => Some(from + i),
                Some(i) => {
                    self.blocked = true;
                    self.scan = from + i;
                    None
                }
                None => {
                    self.scan = buf.len();
                    None
                }
            }
        };
        let Some(nl) = newline else {
            return self.wait_for_line(buf, "too big inline request");
        };
        let mut end = nl;
        if end > 0 && buf[end - 1] == b'\r' {
            end -= 1;
        }
        let words = split_args(&buf[..end]).ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
        let consumed = nl + 1;
        if words.is_empty() {
            return Ok(Decoded::Nothing { consumed });
        }
        self.inline_data.reserve(words.iter().map(Vec::len).sum());
        self.spans.reserve(words.len());
        for word in &words {
            let start = self.inline_data.len();
            self.inline_data.extend_from_slice(word);
            self.spans.push((start, self.inline_data.len()));
        }
        Ok(Decoded::Command { consumed })
    }
}

/// "expected '$', got '%c'" as Redis sends it: CR and LF are turned into spaces.
fn expected_dollar(got: u8) -> ProtocolError {
    let shown = match got {
        b'\r' | b'\n' => ' ',
        other => char::from(other),
    };
    ProtocolError(format!("expected '$', got '{shown}'"))
}

/// Fast path for a well-formed length line: at most 18 digits without sign or leading zero (or a lone "0"),
/// then `'\r'` and at least one more byte, starting at `buf[at]`. Returns the number and the index of the `'\r'`.
/// Anything else, including a line not yet complete, gives `None`, and the caller takes the exact slow path;
/// since digits are neither `'\r'` nor NUL, whatever this accepts the slow path would parse the same way.
#[inline(always)]
fn quick_number(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let s = buf.get(at..)?;
    let mut v = u64::from(s.first()?.wrapping_sub(b'0'));
    if v > 9 {
        return None;
    }
    // Most lengths have one digit.
    if s.len() > 2 && s[1] == b'\r' {
        return Some((v, at + 1));
    }
    let mut i = 1;
    if v != 0 {
        while i < s.len().min(18) {
            let d = s[i].wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v * 10 + u64::from(d);
            i += 1;
        }
    }
    if i + 1 < s.len() && s[i] == b'\r' {
        Some((v, at + i))
    } else {
        None
    }
}

/// Redis's strict `string2ll`: optional '-', no '+', no leading zeros (and no "-0"), no blanks, fewer than 21
/// bytes, within `i64`.
#[inline]
pub fn string2ll(s: &[u8]) -> Option<i64> {
    match s.len() {
        0 | 21.. => return None,
        1 => {
            let d = s[0].wrapping_sub(b'0');
            return if d <= 9 { Some(i64::from(d)) } else { None };
        }
        _ => {}
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    if negative {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            // v == 2^63 wraps to i64::MIN, which is the right answer.
            Some((v as i64).wrapping_neg())
        }
    } else {
        i64::try_from(v).ok()
    }
}

/// Zero-copy view of one command's arguments: spans `(start, end)` into one byte slice.
#[derive(Clone, Copy)]
pub struct Args<'a> {
    data: &'a [u8],
    spans: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    const EMPTY: Args<'static> = Args { data: &[], spans: &[] };

    /// Arguments `data[start..end]` for each `(start, end)` in `spans`. A span outside `data` reads as an empty
    /// argument.
    pub fn from_parts(data: &'a [u8], spans: &'a [(usize, usize)]) -> Self {
        Args { data, spans }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Argument `i`. Panics if `i >= len()`.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.spans[i];
        self.data.get(start..end).unwrap_or_default()
    }

    /// The arguments from index `start` on (empty if `start >= len()`), e.g. the command inside COMMAND GETKEYS.
    pub fn slice_from(&self, start: usize) -> Args<'a> {
        Args { data: self.data, spans: self.spans.get(start..).unwrap_or_default() }
    }

    pub fn iter(&self) -> ArgsIter<'a> {
        ArgsIter { data: self.data, spans: self.spans.iter() }
    }

    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }

    /// An owned copy (for MULTI queues, AOF and the like).
    pub fn to_owned_args(&self) -> OwnedArgs {
        OwnedArgs::from_slices_iter(self.iter(), self.len())
    }
}

impl std::fmt::Debug for Args<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().map(String::from_utf8_lossy)).finish()
    }
}

impl<'a> IntoIterator for Args<'a> {
    type Item = &'a [u8];
    type IntoIter = ArgsIter<'a>;

    fn into_iter(self) -> ArgsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Args`].
#[derive(Clone, Debug)]
pub struct ArgsIter<'a> {
    data: &'a [u8],
    spans: std::slice::Iter<'a, (usize, usize)>,
}

impl<'a> Iterator for ArgsIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let &(start, end) = self.spans.next()?;
        Some(self.data.get(start..end).unwrap_or_default())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for ArgsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let &(start, end) = self.spans.next_back()?;
        Some(self.data.get(start..end).unwrap_or_default())
    }
}

impl ExactSizeIterator for ArgsIter<'_> {}

/// An owned command: arguments back to back in `data`, described by `(start, end)` spans.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OwnedArgs {
    pub data: Vec<u8>,
    pub spans: Vec<(usize, usize)>,
}

impl OwnedArgs {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_slices(args: &[&[u8]]) -> Self {
        Self::from_slices_iter(args.iter().copied(), args.len())
    }

    fn from_slices_iter<'s>(args: impl Iterator<Item = &'s [u8]> + Clone, count: usize) -> Self {
        let total = args.clone().map(<[u8]>::len).sum();
        let mut owned = OwnedArgs { data: Vec::with_capacity(total), spans: Vec::with_capacity(count) };
        for arg in args {
            owned.push(arg);
        }
        owned
    }

    /// Appends one argument.
    pub fn push(&mut self, arg: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(arg);
        self.spans.push((start, self.data.len()));
    }

    pub fn args(&self) -> Args<'_> {
        Args { data: &self.data, spans: &self.spans }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

impl std::fmt::Debug for OwnedArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.args().fmt(f)
    }
}

impl From<Args<'_>> for OwnedArgs {
    fn from(args: Args<'_>) -> Self {
        args.to_owned_args()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max_bulk_len: DEFAULT_MAX_BULK_LEN };

    /// What a caller sees: commands (as argument lists), skipped requests, and the error that ended the stream.
    #[derive(Debug, PartialEq, Eq, Default)]
    struct Outcome {
        commands: Vec<Vec<Vec<u8>>>,
        nothings: usize,
        error: Option<String>,
        leftover: usize,
    }

    /// Feeds `input` in pieces of `chunk` bytes, decoding after each piece like a server would.
    fn run(input: &[u8], chunk: usize, limits: Limits, auth: bool) -> Outcome {
        let mut dec = RequestDecoder::new();
        let mut pending = Vec::new();
        let mut out = Outcome::default();
        for piece in input.chunks(chunk.max(1)) {
            pending.extend_from_slice(piece);
            loop {
                match dec.decode(&pending, &limits, auth) {
                    Ok(Decoded::Command { consumed }) => {
                        out.commands.push(dec.args(&pending).to_vec());
                        pending.drain(..consumed);
                    }
                    Ok(Decoded::Nothing { consumed }) => {
                        out.nothings += 1;
                        pending.drain(..consumed);
                    }
                    Ok(Decoded::Incomplete) => break,
                    Err(e) => {
                        out.error = Some(e.0);
                        return out;
                    }
                }
            }
        }
        out.leftover = pending.len();
        out
    }

    fn whole(input: &[u8]) -> Outcome {
        run(input, input.len(), LIMITS, false)
    }

    fn error_of(input: &[u8]) -> Option<String> {
        whole(input).error
    }

    fn cmds(list: &[&[&str]]) -> Vec<Vec<Vec<u8>>> {
        list.iter().map(|c| c.iter().map(|a| a.as_bytes().to_vec()).collect()).collect()
    }

    /// Whole-buffer and byte-at-a-time decoding agree (for inputs that do not hit a size limit).
    fn same_when_trickled(input: &[u8]) -> Outcome {
        let all = whole(input);
        for chunk in [1, 2, 3, 7, 16] {
            assert_eq!(
                run(input, chunk, LIMITS, false),
                all,
                "chunk size {chunk} on {:?}",
                String::from_utf8_lossy(input)
            );
        }
        all
    }

    #[test]
    fn single_multibulk_command() {
        let input = b"*3\r\n$3\r\nSET\r\n$10\r\nkey:000001\r\n$3\r\nxxx\r\n";
        let mut dec = RequestDecoder::new();
        assert_eq!(dec.decode(input, &LIMITS, false), Ok(Decoded::Command { consumed: input.len() }));
        assert!(!dec.is_inline());
        let args = dec.args(input);
        assert_eq!(args.len(), 3);
        assert_eq!(args.get(0), b"SET");
        assert_eq!(args.get(1), b"key:000001");
        assert_eq!(args.get(2), b"xxx");
        assert_eq!(args.iter().next_back(), Some(&b"xxx"[..]));
    }

    #[test]
    fn pipelined_and_resumable() {
        let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nPING\r\n*0\r\n*-1\r\n\r\n\n  \r\n\
                      ECHO \"a\\x00b\" 'c d'\n*2\r\n$4\r\nECHO\r\n$5\r\na\r\nb\x00\r\n";
        let out = same_when_trickled(input);
        let mut expected = cmds(&[&["SET", "k", ""], &["PING"], &["ECHO", "a\0b", "c d"]]);
        expected.push(vec![b"ECHO".to_vec(), b"a\r\nb\0".to_vec()]);
        assert_eq!(out.commands, expected);
        assert_eq!(out.nothings, 5);
        assert_eq!(out.error, None);
        assert_eq!(out.leftover, 0);
    }

    #[test]
    fn bytes_after_cr_and_after_payload_are_not_checked() {
        // Redis 7.0.15 answers +PONG to each of these.
        let out = same_when_trickled(b"*1\rX$4\rXPING\r\n*1\r\n$4\r\nPINGxxPING\r\n");
        assert_eq!(out.commands, cmds(&[&["PING"], &["PING"], &["PING"]]));
    }

    #[test]
    fn count_line_errors() {
        for bad in [
            &b"*\r\n"[..],
            b"*+1\r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*1 \r\n",
            b"* 1\r\n",
            b"*2147483648\r\n",
            b"*-9223372036854775809\r\n",
            b"*1\n$4\r\nPING\r\n",
            b"*abc\r\n",
            b"*000000000000000000001\r\n",
        ] {
            assert_eq!(
                error_of(bad).as_deref(),
                Some("invalid multibulk length"),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Counts <= 0 are skipped, down to i64::MIN.
        let out = same_when_trickled(b"*0\r\n*-1\r\n*-9223372036854775808\r\nPING\r\n");
        assert_eq!((out.nothings, out.commands.len(), out.error), (3, 1, None));
        // INT_MAX itself is accepted: wait for the bulks.
        assert_eq!(whole(b"*2147483647\r\n"), Outcome { leftover: 13, ..Outcome::default() });
    }

    #[test]
    fn bulk_header_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"*1\r\nX\r\n", "expected '$', got 'X'"),
            (b"*1\r\n\r\n", "expected '$', got ' '"),
            (b"*1\r\n\n\r\n", "expected '$', got ' '"),
            (b"*2\r\n$1\r\na\r\n:1\r\n", "expected '$', got ':'"),
            (b"*1\r\n$-1\r\n", "invalid bulk length"),
            (b"*1\r\n$\r\n", "invalid bulk length"),
            (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
            (b"*1\r\n$+4\r\nPING\r\n", "invalid bulk length"),
            (b"*1\r\n$4 \r\nPING\r\n", "invalid bulk length"),
            (b"*1\r\n$536870913\r\n", "invalid bulk length"),
            (b"*1\r\n$10000000000000000000\r\n", "invalid bulk length"),
        ];
        for &(input, text) in cases {
            assert_eq!(error_of(input).as_deref(), Some(text), "{:?}", String::from_utf8_lossy(input));
        }
        // Exactly proto-max-bulk-len is fine: wait for the payload.
        let input = b"*1\r\n$536870912\r\n";
        assert_eq!(whole(input).error, None);
    }

    #[test]
    fn expected_dollar_keeps_high_bytes_exact() {
        let err = whole(b"*1\r\n\xffX\r\n").error.map(ProtocolError).unwrap_or_else(|| ProtocolError(String::new()));
        assert_eq!(err.message_bytes(), b"expected '$', got '\xff'");
        assert_eq!(err.to_string(), "Protocol error: expected '$', got '\u{ff}'");
    }

    #[test]
    fn custom_bulk_limit() {
        let small = Limits { max_bulk_len: 3 };
        assert_eq!(run(b"*1\r\n$3\r\nabc\r\n", 100, small, false).commands, cmds(&[&["abc"]]));
        assert_eq!(run(b"*1\r\n$4\r\nabcd\r\n", 100, small, false).error.as_deref(), Some("invalid bulk length"));
    }

    #[test]
    fn unauthenticated_limits() {
        let auth = |input: &[u8]| run(input, input.len(), LIMITS, true);
        assert_eq!(auth(b"*11\r\n").error.as_deref(), Some("unauthenticated multibulk length"));
        assert_eq!(auth(b"*10\r\n").error, None);
        assert_eq!(auth(b"*-5\r\n").nothings, 1);
        assert_eq!(auth(b"*2147483648\r\n").error.as_deref(), Some("invalid multibulk length"));
        assert_eq!(auth(b"*1\r\n$16385\r\n").error.as_deref(), Some("unauthenticated bulk length"));
        assert_eq!(auth(b"*1\r\n$16384\r\n").error, None);
        assert_eq!(auth(b"*1\r\n$536870913\r\n").error.as_deref(), Some("invalid bulk length"));
        assert_eq!(auth(b"*1\r\n$-1\r\n").error.as_deref(), Some("invalid bulk length"));
        // Inline requests have no such limit.
        let long = [b"ECHO ".to_vec(), vec![b'a'; 20000], b"\r\n".to_vec()].concat();
        assert_eq!(auth(&long).commands.len(), 1);
    }

    #[test]
    fn too_big_lines() {
        let pad = |prefix: &[u8], n: usize| [prefix, &vec![b'1'; n]].concat();
        // More than 64 KiB from the start of the line without a line end is an error; exactly 64 KiB is not.
        assert_eq!(error_of(&pad(b"", 65536)), None);
        assert_eq!(error_of(&pad(b"", 65537)).as_deref(), Some("too big inline request"));
        assert_eq!(error_of(&pad(b"*", 65535)), None);
        assert_eq!(error_of(&pad(b"*", 65536)).as_deref(), Some("too big mbulk count string"));
        assert_eq!(error_of(&pad(b"*1\r\n$", 65535)), None);
        assert_eq!(error_of(&pad(b"*1\r\n$", 65536)).as_deref(), Some("too big bulk count string"));
        // The second bulk header is measured from its own start.
        let mut second = b"*2\r\n$1\r\na\r\n".to_vec();
        second.extend(pad(b"$", 65535));
        assert_eq!(error_of(&second), None);
        second.push(b'1');
        assert_eq!(error_of(&second).as_deref(), Some("too big bulk count string"));
        // A line whose '\r' is the last buffered byte is waited for, however long.
        let mut ends_in_cr = pad(b"*", 70000);
        ends_in_cr.push(b'\r');
        assert_eq!(error_of(&ends_in_cr), None);
        // A line that ends after 64 KiB is fine if it is all there when decode is called (it is an invalid
        // number, though).
        let mut long_count = pad(b"*", 100_000);
        long_count.extend_from_slice(b"\r\n");
        assert_eq!(error_of(&long_count).as_deref(), Some("invalid multibulk length"));
        // Fed in pieces, the limit triggers before the line end arrives.
        assert_eq!(run(&long_count, 16384, LIMITS, false).error.as_deref(), Some("too big mbulk count string"));
        let mut long_inline = b"ECHO ".to_vec();
        long_inline.extend(vec![b'a'; 100_000]);
        long_inline.extend_from_slice(b"\r\n");
        assert_eq!(whole(&long_inline).commands.len(), 1);
        assert_eq!(run(&long_inline, 16384, LIMITS, false).error.as_deref(), Some("too big inline request"));
    }

    #[test]
    fn nul_hides_the_line_end() {
        // Redis uses strchr, so "PING\0\r\n" never completes; it can only grow into "too big".
        for prefix in [&b"PING\x00\r\n"[..], b"*1\x00\r\n", b"*1\r\n$4\x00\r\nPING\r\n"] {
            let out = whole(prefix);
            assert_eq!((out.commands.len(), out.error.as_deref()), (0, None));
            let mut grown = prefix.to_vec();
            grown.resize(65536 + if prefix.starts_with(b"*1\r\n$") { 4 } else { 0 }, b'x');
            assert_eq!(whole(&grown).error, None);
            grown.push(b'x');
            assert!(whole(&grown).error.is_some_and(|e| e.starts_with("too big")));
            // Trickled in, the NUL is remembered rather than searched past.
            assert_eq!(run(&grown, 1000, LIMITS, false).error, whole(&grown).error);
        }
    }

    #[test]
    fn inline_requests() {
        let out = same_when_trickled(b"set a \"b c\"\r\nget a\n\r\n\n   \t \r\nping\r\r\n");
        assert_eq!(out.commands, cmds(&[&["set", "a", "b c"], &["get", "a"], &["ping"]]));
        assert_eq!(out.nothings, 3);
        assert_eq!(error_of(b"PING \"a\r\n").as_deref(), Some("unbalanced quotes in request"));
        assert_eq!(error_of(b"ECHO \"a\"b\r\n").as_deref(), Some("unbalanced quotes in request"));
        let mut dec = RequestDecoder::new();
        assert_eq!(dec.decode(b"PING\r\n", &LIMITS, false), Ok(Decoded::Command { consumed: 6 }));
        assert!(dec.is_inline());
        assert_eq!(dec.args(b"PING\r\n").to_vec(), vec![b"PING".to_vec()]);
        assert_eq!(dec.decode(b"\n", &LIMITS, false), Ok(Decoded::Nothing { consumed: 1 }));
        assert!(dec.is_inline());
    }

    #[test]
    fn bytes_wanted_and_no_preallocation() {
        let mut dec = RequestDecoder::new();
        let mut buf = b"*2\r\n$3\r\nSET\r\n$536870912\r\nabc".to_vec();
        assert_eq!(dec.decode(&buf, &LIMITS, false), Ok(Decoded::Incomplete));
        assert_eq!(dec.bytes_wanted(), 536870912 + 2 - 3);
        buf.extend_from_slice(b"de");
        assert_eq!(dec.decode(&buf, &LIMITS, false), Ok(Decoded::Incomplete));
        assert_eq!(dec.bytes_wanted(), 536870912 + 2 - 5);
        // A huge count reserves a bounded number of slots.
        let mut dec = RequestDecoder::new();
        assert_eq!(dec.decode(b"*2000000000\r\n", &LIMITS, false), Ok(Decoded::Incomplete));
        assert!(dec.spans.capacity() <= MAX_PREALLOC_ARGS);
        assert_eq!(dec.bytes_wanted(), 0);
    }

    #[test]
    fn resumption_is_linear() {
        // 200k arguments fed in 16 KiB pieces: each byte is searched a bounded number of times. Quadratic
        // rescanning would take minutes here; linear decoding takes milliseconds even unoptimized.
        let mut input = b"*200001\r\n$4\r\nMSET\r\n".to_vec();
        for i in 0..200_000u32 {
            let arg = format!("{i:08}");
            input.extend_from_slice(format!("${}\r\n{arg}\r\n", arg.len()).as_bytes());
        }
        let mut dec = RequestDecoder::new();
        let mut calls = 0;
        let mut result = Ok(Decoded::Incomplete);
        for end in (16384..input.len()).step_by(16384).chain([input.len()]) {
            calls += 1;
            result = dec.decode(&input[..end], &LIMITS, false);
            if end < input.len() {
                assert_eq!(result, Ok(Decoded::Incomplete));
            }
        }
        assert!(calls > 100);
        assert_eq!(result, Ok(Decoded::Command { consumed: input.len() }));
        let args = dec.args(&input);
        assert_eq!(args.len(), 200_001);
        assert_eq!(args.get(200_000), b"00199999");
    }

    #[test]
    fn misuse_does_not_panic() {
        let mut dec = RequestDecoder::new();
        assert_eq!(dec.decode(b"*2\r\n$3\r\nGET\r\n$1", &LIMITS, false), Ok(Decoded::Incomplete));
        assert!(dec.args(b"").is_empty());
        // A shorter buffer than before: start over.
        assert_eq!(dec.decode(b"PING\r\n", &LIMITS, false), Ok(Decoded::Command { consumed: 6 }));
        assert_eq!(dec.args(b"PING\r\n").len(), 1);
        let input = b"*1\r\n$4\r\nPING\r\n";
        assert_eq!(dec.decode(input, &LIMITS, false), Ok(Decoded::Command { consumed: input.len() }));
        assert!(dec.args(b"short").is_empty());
        assert_eq!(dec.decode(b"", &LIMITS, false), Ok(Decoded::Incomplete));
        assert!(dec.args(input).is_empty());
    }

    #[test]
    fn strict_integers() {
        for (s, v) in [
            ("0", Some(0)),
            ("7", Some(7)),
            ("-1", Some(-1)),
            ("10", Some(10)),
            ("-", None),
            ("", None),
            ("00", None),
            ("-0", None),
            ("+1", None),
            (" 1", None),
            ("1 ", None),
            ("9223372036854775807", Some(i64::MAX)),
            ("9223372036854775808", None),
            ("-9223372036854775808", Some(i64::MIN)),
            ("-9223372036854775809", None),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("-00000000000000000001", None),
        ] {
            assert_eq!(string2ll(s.as_bytes()), v, "{s:?}");
        }
    }

    #[test]
    fn owned_args() {
        let owned = OwnedArgs::from_slices(&[b"SET", b"k", b""]);
        let args = owned.args();
        assert_eq!(args.to_vec(), vec![b"SET".to_vec(), b"k".to_vec(), Vec::new()]);
        assert_eq!(OwnedArgs::from(args), owned);
        assert_eq!(format!("{owned:?}"), r#"["SET", "k", ""]"#);
        assert_eq!(args.slice_from(1).to_vec(), vec![b"k".to_vec(), Vec::new()]);
        assert!(args.slice_from(3).is_empty() && args.slice_from(9).is_empty());
        let spans = [(0, 2), (5, 9)];
        let odd = Args::from_parts(b"abc", &spans);
        assert_eq!(odd.get(0), b"ab");
        assert_eq!(odd.get(1), b"");
    }
}
