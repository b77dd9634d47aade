//! PLACEHOLDER: being written.

use super::Ctx;
use crate::protocol::decode::Args;

pub fn bitcount(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn bitfield(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn bitfield_ro(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn bitop(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn bitpos(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn getbit(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn setbit(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}
