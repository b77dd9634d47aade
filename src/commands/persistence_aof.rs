//! BGREWRITEAOF. The append-only file itself lives in [`crate::aof`]; this handler only answers with Redis
//! 7.0's texts.

use super::Ctx;
use crate::protocol::decode::Args;

pub fn bgrewriteaof(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    let server = ctx.server;
    match crate::aof::rewrite::bgrewriteaof_command(server, ctx.db, ctx.client.multi.is_some()) {
        Ok(text) => ctx.out.simple(text),
        Err(e) => ctx.out.error(&e),
    }
}
