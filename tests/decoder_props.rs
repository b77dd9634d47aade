//! Property tests for the request decoder: split-independence, junk resistance, and no allocation driven by
//! declared sizes.

use proptest::prelude::*;
use shoal::protocol::decode::*;
use shoal::protocol::split_args::quote_arg;

#[path = "support/largest_alloc.rs"]
mod largest_alloc;
use largest_alloc::largest_allocation_since_reset;

const LIMITS: Limits = Limits { max_bulk_len: 512 * 1024 * 1024 };

/// One request in a generated stream.
#[derive(Debug, Clone)]
enum Request {
    /// A RESP multibulk command.
    Multibulk(Vec<Vec<u8>>),
    /// An inline command: each argument is written bare (if `plain`) or quoted, separated by `sep`.
    Inline { args: Vec<Vec<u8>>, quoted: Vec<bool>, sep: &'static str, crlf: bool },
    /// Something that decodes to `Nothing`.
    Skip(&'static str),
}

/// What the caller sees for one request: a command's arguments, or `None` for `Nothing`.
type Event = Option<Vec<Vec<u8>>>;

impl Request {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Request::Multibulk(args) => {
                out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
                for arg in args {
                    out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                    out.extend_from_slice(arg);
                    out.extend_from_slice(b"\r\n");
                }
            }
            Request::Inline { args, quoted, sep, crlf } => {
                for (i, (arg, &quote)) in args.iter().zip(quoted).enumerate() {
                    if i > 0 {
                        out.extend_from_slice(sep.as_bytes());
                    }
                    if quote || !is_plain(arg) {
                        out.extend_from_slice(quote_arg(arg).as_bytes());
                    } else {
                        out.extend_from_slice(arg);
                    }
                }
                out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            Request::Skip(text) => out.extend_from_slice(text.as_bytes()),
        }
    }

    fn expected(&self) -> Event {
        match self {
            Request::Multibulk(args) if args.is_empty() => None,
            Request::Multibulk(args) | Request::Inline { args, .. } => Some(args.clone()),
            Request::Skip(_) => None,
        }
    }
}

/// Can be written in an inline request without quotes (and does not start a multibulk request).
fn is_plain(arg: &[u8]) -> bool {
    !arg.is_empty() && arg.iter().all(|b| b.is_ascii_alphanumeric() || b"_:.-+$".contains(b))
}

fn binary_arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::collection::vec(prop::sample::select(b"ab\r\n\0*$\"' \\-0123456789".to_vec()), 0..12),
        "[a-zA-Z0-9_:.+$-]{1,12}".prop_map(String::into_bytes),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => proptest::collection::vec(binary_arg(), 0..6).prop_map(Request::Multibulk),
        3 => (proptest::collection::vec((binary_arg(), any::<bool>()), 1..5),
              prop::sample::select(vec![" ", "  ", "\t", " \t "]), any::<bool>())
            .prop_map(|(pairs, sep, crlf)| {
                let (args, quoted) = pairs.into_iter().unzip();
                Request::Inline { args, quoted, sep, crlf }
            }),
        1 => prop::sample::select(vec!["*0\r\n", "*-1\r\n", "*-42\r\n", "\r\n", "\n", "  \r\n", " \t\n"])
            .prop_map(Request::Skip),
    ]
}

/// Everything a caller observes while decoding `input` delivered in the given pieces.
#[derive(Debug, PartialEq, Eq)]
struct Trace {
    events: Vec<Event>,
    error: Option<String>,
    leftover: usize,
}

/// Decodes `input`, appending it to the query buffer in pieces cut at `cuts`, checking the API contract on the
/// way.
fn feed(input: &[u8], cuts: &[usize], limits: Limits, auth: bool) -> Trace {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    bounds.push(input.len());
    bounds.sort_unstable();
    let mut dec = RequestDecoder::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut events = Vec::new();
    let mut start = 0;
    for end in bounds {
        pending.extend_from_slice(&input[start..end]);
        start = end;
        loop {
            match dec.decode(&pending, &limits, auth) {
                Ok(Decoded::Command { consumed }) => {
                    assert!(consumed > 0 && consumed <= pending.len());
                    let args = dec.args(&pending);
                    assert!(!args.is_empty());
                    assert_eq!(args.iter().len(), args.len());
                    events.push(Some(args.to_vec()));
                    pending.drain(..consumed);
                }
                Ok(Decoded::Nothing { consumed }) => {
                    assert!(consumed > 0 && consumed <= pending.len());
                    events.push(None);
                    pending.drain(..consumed);
                }
                Ok(Decoded::Incomplete) => break,
                Err(e) => {
                    assert!(!e.0.is_empty());
                    // How much was buffered when the error came depends on the pieces; the error does not.
                    return Trace { events, error: Some(e.0), leftover: 0 };
                }
            }
        }
    }
    Trace { events, error: None, leftover: pending.len() }
}

fn junk() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        2 => any::<u8>(),
        5 => prop::sample::select(b"*$\r\n\r\n0123456789-+ \"'\\x\0".to_vec()),
    ];
    proptest::collection::vec(byte, 0..300)
}

/// Junk built from protocol-shaped pieces, so that it gets deeper into the state machine than random bytes.
fn structured_junk() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"*".to_vec()),
        Just(b"$".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        (0i64..20).prop_map(|n| n.to_string().into_bytes()),
        (-3i64..3).prop_map(|n| n.to_string().into_bytes()),
        Just(b"9223372036854775808".to_vec()),
        Just(b"\"".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..5),
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_split_of_a_valid_stream_decodes_the_same(
        requests in proptest::collection::vec(request(), 1..12),
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        auth in any::<bool>(),
    ) {
        let mut input = Vec::new();
        for r in &requests {
            r.encode(&mut input);
        }
        let expected: Vec<Event> = requests.iter().map(Request::expected).collect();
        // The unauthenticated limits (10 args, 16 KiB bulks) are far above what is generated here.
        let whole = feed(&input, &[], LIMITS, auth);
        prop_assert_eq!(&whole, &Trace { events: expected, error: None, leftover: 0 });
        prop_assert_eq!(feed(&input, &cuts, LIMITS, auth), whole);
        let every_byte: Vec<usize> = (0..input.len()).collect();
        prop_assert_eq!(feed(&input, &every_byte, LIMITS, auth), feed(&input, &[], LIMITS, auth));
    }

    #[test]
    fn junk_never_panics_and_does_not_depend_on_splits(
        input in prop_oneof![junk(), structured_junk()],
        cuts in proptest::collection::vec(any::<usize>(), 0..20),
        max_bulk_len in prop_oneof![Just(512u64 * 1024 * 1024), 0u64..20, Just(u64::MAX)],
        auth in any::<bool>(),
    ) {
        let limits = Limits { max_bulk_len };
        // Below 64 KiB no "too big" limit can trigger, so the outcome cannot depend on how the bytes arrive.
        let whole = feed(&input, &[], limits, auth);
        prop_assert_eq!(feed(&input, &cuts, limits, auth), whole);
    }

    #[test]
    fn junk_after_a_valid_prefix_keeps_the_prefix(
        requests in proptest::collection::vec(request(), 1..5),
        tail in prop_oneof![junk(), structured_junk()],
    ) {
        let mut input = Vec::new();
        for r in &requests {
            r.encode(&mut input);
        }
        input.extend_from_slice(&tail);
        let trace = feed(&input, &[], LIMITS, false);
        let expected: Vec<Event> = requests.iter().map(Request::expected).collect();
        prop_assert!(trace.events.len() >= expected.len());
        prop_assert_eq!(&trace.events[..expected.len()], &expected[..]);
    }
}

#[test]
fn huge_declared_bulk_is_not_allocated() {
    let mut dec = RequestDecoder::new();
    let mut buf = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$536870912\r\n".to_vec();
    buf.extend_from_slice(&[b'v'; 1000]);
    largest_allocation_since_reset();
    assert_eq!(dec.decode(&buf, &LIMITS, false), Ok(Decoded::Incomplete));
    assert_eq!(dec.bytes_wanted(), 536870912 + 2 - 1000);
    buf.extend_from_slice(&[b'v'; 1000]);
    largest_allocation_since_reset();
    assert_eq!(dec.decode(&buf, &LIMITS, false), Ok(Decoded::Incomplete));
    assert!(largest_allocation_since_reset() < 64 * 1024);
    assert_eq!(dec.bytes_wanted(), 536870912 + 2 - 2000);

    // Without a bulk limit (as for a master link), even an i64::MAX length only waits.
    let unlimited = Limits { max_bulk_len: u64::MAX };
    let mut dec = RequestDecoder::new();
    largest_allocation_since_reset();
    assert_eq!(dec.decode(b"*1\r\n$9223372036854775807\r\nab", &unlimited, false), Ok(Decoded::Incomplete));
    assert!(largest_allocation_since_reset() < 64 * 1024);
    assert!(dec.bytes_wanted() as u64 >= u64::from(u32::MAX));
}

#[test]
fn huge_declared_count_is_not_allocated() {
    let mut dec = RequestDecoder::new();
    largest_allocation_since_reset();
    assert_eq!(dec.decode(b"*2147483647\r\n$1\r\na\r\n", &LIMITS, false), Ok(Decoded::Incomplete));
    assert_eq!(dec.decode(b"*2147483647\r\n$1\r\na\r\n$1\r\nb\r\n", &LIMITS, false), Ok(Decoded::Incomplete));
    assert!(largest_allocation_since_reset() < 64 * 1024);
}

#[test]
fn owned_args_round_trip() {
    let input = b"*3\r\n$3\r\nSET\r\n$2\r\n\x00\xff\r\n$0\r\n\r\n";
    let mut dec = RequestDecoder::new();
    assert_eq!(dec.decode(input, &LIMITS, false), Ok(Decoded::Command { consumed: input.len() }));
    let owned = dec.args(input).to_owned_args();
    assert_eq!(owned, OwnedArgs::from_slices(&[b"SET", b"\x00\xff", b""]));
    let args = owned.args();
    assert_eq!(args.iter().collect::<Vec<_>>(), vec![&b"SET"[..], b"\x00\xff", b""]);
}
