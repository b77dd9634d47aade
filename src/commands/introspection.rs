//! SKELETON: being written (issue 3).

use super::Ctx;
use crate::protocol::decode::Args;

pub fn latency_histogram(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_doctor(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_graph(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_latest(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_reset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn latency_history(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn slowlog_reset(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn slowlog_len(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn slowlog_help(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}

pub fn slowlog_get(ctx: &mut Ctx<'_, '_>, _args: Args<'_>) {
    ctx.out.error("ERR not implemented yet");
}
