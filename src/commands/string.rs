//! PLACEHOLDER: being written.

use super::Ctx;
use crate::protocol::decode::Args;

pub fn append(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn decr(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn decrby(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn get(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn getdel(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn getex(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn getrange(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn getset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn incr(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn incrby(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn incrbyfloat(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn lcs(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn mget(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn mset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn msetnx(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn psetex(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn set(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn setex(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn setnx(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn setrange(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn strlen(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}

pub fn substr(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR unknown command");
}
