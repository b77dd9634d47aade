//! SKELETON: being written (issue 3).

use super::Ctx;
use crate::protocol::decode::Args;

pub fn memory_doctor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn memory_purge(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn memory_malloc_stats(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn memory_stats(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn memory_usage(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn memory_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}
