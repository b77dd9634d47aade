//! The client protocol: request decoding (RESP multibulk and inline), reply encoding (RESP2 and RESP3) and the
//! `sdssplitargs` quoting shared with redis.conf.

pub mod decode;
pub mod reply;
pub mod split_args;
pub mod value;
